"""Our Milvus protos (Protos/milvus) against the Milvus API of the installed pymilvus: every
message we define (exactly those vdbm reads or writes) has every field pymilvus knows, with its
number, name and wire type, and MilvusService has every method. When Milvus moves on and a newer
pymilvus is installed, this fails naming the message and field, instead of vdbm silently not
cutting (or not reading) what the new fields carry.

Compatible stand-ins are accepted, as the protos' header says: `int32` for an enum, and `bytes`
for a message vdbm only carries and never reads inside (both are length-delimited on the wire,
and a repeated bytes field stands for a map). vdbm's code must then treat such a field as opaque:
SearchResultDataCut refuses to cut an answer that sets one."""
import glob
import os
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_tools import protoc
from pymilvus.grpc_gen import common_pb2, milvus_pb2, schema_pb2  # noqa: F401 - they fill the default pool

ROOT = Path(__file__).resolve().parents[2]
FieldType = descriptor_pb2.FieldDescriptorProto
ENUM, INT32, MESSAGE, BYTES = FieldType.TYPE_ENUM, FieldType.TYPE_INT32, FieldType.TYPE_MESSAGE, FieldType.TYPE_BYTES
# Names ours must differ in: protobuf-c gives every message struct a member `base` of its own.
RENAMED = {"base": "msg_base"}


def our_messages(tmp_path_factory):
    out = tmp_path_factory.mktemp("protos") / "milvus.pb"
    files = [os.path.relpath(path, ROOT / "Protos") for path in sorted(glob.glob(str(ROOT / "Protos" / "milvus" / "*.proto")))]
    assert protoc.main(["protoc", f"-I{ROOT / 'Protos'}", f"--descriptor_set_out={out}", *files]) == 0
    found = {}

    def walk(prefix, messages):
        for message in messages:
            name = f"{prefix}.{message.name}"
            found[name] = message
            walk(name, message.nested_type)

    services = {}
    for file in descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file:
        walk(file.package, file.message_type)
        for service in file.service:
            services[f"{file.package}.{service.name}"] = {method.name for method in service.method}
    return found, services


@pytest.fixture(scope="module")
def ours(tmp_path_factory):
    return our_messages(tmp_path_factory)


def compatible(ours, theirs):
    """Our field can carry theirs: the same type, int32 for an enum, bytes for a message."""
    if ours.type == theirs.type:
        return ours.type not in (MESSAGE, ENUM) or ours.type_name.lstrip(".") == (
            theirs.message_type or theirs.enum_type).full_name
    return (ours.type, theirs.type) in ((INT32, ENUM), (BYTES, MESSAGE))


def problems(ours):
    messages, _ = ours
    pool = descriptor_pool.Default()
    found = []
    for name, message in sorted(messages.items()):
        if name == "milvus.proto.milvus.PassThroughMessage":
            continue  # vdbm's own: the pass-through's opaque bytes
        theirs = pool.FindMessageTypeByName(name)
        mine = {field.number: field for field in message.field}
        for field in theirs.fields:
            ours_field = mine.get(field.number)
            if ours_field is None:
                found.append(f"{name} lacks {field.name} = {field.number}")
            elif ours_field.name != RENAMED.get(field.name, field.name):
                found.append(f"{name} field {field.number} is {ours_field.name}; pymilvus calls it {field.name}")
            elif not compatible(ours_field, field):
                found.append(f"{name}.{field.name} ({field.number}) has type {ours_field.type}, pymilvus {field.type}")
            elif (ours_field.label == FieldType.LABEL_REPEATED) != field.is_repeated:
                found.append(f"{name}.{field.name} ({field.number}) differs in being repeated")
        for number, field in mine.items():
            if number not in {theirs_field.number for theirs_field in theirs.fields}:
                found.append(f"{name}.{field.name} ({number}) is not a field pymilvus knows")
    return found


def test_every_message_vdbm_reads_or_writes_has_every_field_pymilvus_knows(ours):
    import pymilvus
    found = problems(ours)
    print(f"\n{len(ours[0])} messages compared with pymilvus {pymilvus.__version__}")
    assert not found, "\n".join(found)


def test_milvus_service_has_every_method_pymilvus_knows(ours):
    _, services = ours
    theirs = {method.name for method in milvus_pb2.DESCRIPTOR.services_by_name["MilvusService"].methods}
    missing = sorted(theirs - services["milvus.proto.milvus.MilvusService"])
    assert not missing, f"MilvusService lacks {missing}"


def test_a_field_removed_from_our_copy_is_named(ours, tmp_path_factory):
    """The check itself: with SearchResultData's all_search_count taken out, it says so."""
    messages, services = ours
    copy = descriptor_pb2.DescriptorProto()
    copy.CopyFrom(messages["milvus.proto.schema.SearchResultData"])
    kept = [field for field in copy.field if field.number != 9]
    del copy.field[:]
    copy.field.extend(kept)
    assert problems(({**messages, "milvus.proto.schema.SearchResultData": copy}, services)) == [
        "milvus.proto.schema.SearchResultData lacks all_search_count = 9"]
