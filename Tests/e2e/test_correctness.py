"""The correctness bugs found by independent testing, each checked through a running vdbm with
Milvus 2.3.5 behind it: strings with an embedded NUL or invalid UTF-8, values that do not fit
their field, dynamic fields, one error code per client mistake, messages that say what to fix,
and VDBM_ variables that name no key."""
import os
import subprocess
import time

import grpc
import pytest

from conftest import E2E_VDBM_BIN, MILVUS_ADDRESS, ROOT, Daemon, milvus_client
from vdbm_api import columns_by_name, data_pb2, int64_column, pb2, pb2_grpc, string_column, vectors_column


@pytest.fixture(scope="module")
def stub():
    daemon = Daemon(env={"VDBM_LOGGING_ACCESS_LOG": "false"})
    channel = grpc.insecure_channel(daemon.tcp_target)
    yield daemon, pb2_grpc.VectorDBStub(channel)
    channel.close()
    assert daemon.stop() == 0, daemon.log_text()


def unique(prefix):
    return f"{prefix}_{int(time.time() * 1000)}_{os.getpid()}"


def code_of(call, *args, **kwargs):
    with pytest.raises(grpc.RpcError) as failure:
        call(*args, timeout=60, **kwargs)
    return failure.value.code(), failure.value.details()


def raw_call(daemon, method, payload):
    with grpc.insecure_channel(daemon.tcp_target) as channel:
        call = channel.unary_unary(f"/vdbm.v1.VectorDB/{method}", request_serializer=lambda b: b,
                                   response_deserializer=lambda b: b)
        return code_of(call, payload)


def create(stub, name, scalar_fields=(), dynamic=False, load=True):
    stub.CreateCollection(pb2.CreateCollectionRequest(
        collection=name, dimension=2, scalar_fields=list(scalar_fields), enable_dynamic_fields=dynamic,
        consistency=data_pb2.CONSISTENCY_STRONG, index=pb2.IndexSpec(type="FLAT") if load else None, load=load), timeout=120)


def drop(stub, name):
    stub.DropCollection(pb2.CollectionRequest(collection=name), timeout=60)


@pytest.fixture
def titles(stub):
    """A loaded collection with a VARCHAR `title` and three rows, ids 1..3."""
    _, api = stub
    name = unique("e2e_nul")
    create(api, name, [pb2.ScalarField(name="title", type=pb2.ScalarField.TYPE_STRING, max_length=64)])
    api.Insert(pb2.WriteRequest(collection=name, columns=[
        int64_column("id", [1, 2, 3]), string_column("title", ["a", "b", "c"]),
        vectors_column("vector", [[1, 0], [0, 1], [1, 1]], 2)]), timeout=60)
    yield name
    drop(api, name)


# --- 1. strings are read with their length ----------------------------------------------------

def test_a_name_with_an_embedded_nul_never_reaches_another_collection(stub, titles):
    _, api = stub
    code, details = code_of(api.DropCollection, pb2.CollectionRequest(collection=titles + "\0other"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "collection name contains a NUL" in details
    assert api.HasCollection(pb2.CollectionRequest(collection=titles), timeout=30).exists
    code, _ = code_of(api.CreateCollection, pb2.CreateCollectionRequest(collection="probe_\0x", dimension=2))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert not api.HasCollection(pb2.CollectionRequest(collection="probe_"), timeout=30).exists
    code, _ = code_of(api.Insert, pb2.WriteRequest(collection=titles + "\0zz", columns=[int64_column("id", [9])]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT


def test_a_filter_with_an_embedded_nul_deletes_and_counts_nothing(stub, titles):
    _, api = stub
    code, details = code_of(api.Delete, pb2.DeleteRequest(collection=titles, filter="id >= 0\0 and id == 2"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "filter contains a NUL" in details
    code, _ = code_of(api.Count, pb2.CountRequest(collection=titles, filter="id == 1\0 or id > 0"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert api.Count(pb2.CountRequest(collection=titles), timeout=30).count == 3


def test_a_varchar_value_keeps_every_byte_written_through_vdbm(stub, titles):
    _, api = stub
    value = "ab\0cd naïve 東京 🚀"
    api.Upsert(pb2.WriteRequest(collection=titles, columns=[
        int64_column("id", [2]), string_column("title", [value]), vectors_column("vector", [[0, 1]], 2)]), timeout=60)
    got = columns_by_name(api.Get(pb2.GetRequest(collection=titles, ids=data_pb2.PrimaryKeys(int_ids=[2]),
                                                 output_fields=["title"]), timeout=30))
    assert got["title"] == [value]


def test_a_varchar_written_by_pymilvus_reads_back_identical_through_get_query_and_search(stub):
    """Inserted with pymilvus straight into Milvus, read through vdbm."""
    _, api = stub
    name = unique("e2e_pymilvus")
    create(api, name, [pb2.ScalarField(name="title", type=pb2.ScalarField.TYPE_STRING, max_length=64)])
    try:
        user, password = os.environ.get("MILVUS_USER"), os.environ.get("MILVUS_PASSWORD", "")
        client = milvus_client(f"http://{MILVUS_ADDRESS}", token=f"{user}:{password}" if user else "")
        values = {7: "ab\0cd", 8: "naïve 東京 🚀\0", 9: "\0"}
        client.insert(name, [{"id": i, "title": t, "vector": [float(i), 1.0]} for i, t in values.items()])
        client.close()
        got = columns_by_name(api.Get(pb2.GetRequest(collection=name, ids=data_pb2.PrimaryKeys(int_ids=[7, 8, 9]),
                                                     output_fields=["title"]), timeout=30))
        assert dict(zip(got["id"], got["title"])) == values
        queried = columns_by_name(api.Query(pb2.QueryRequest(collection=name, filter="id > 0", output_fields=["title"],
                                                             consistency=data_pb2.CONSISTENCY_STRONG), timeout=30))
        assert dict(zip(queried["id"], queried["title"])) == values
        reply = api.Search(pb2.SearchRequest(collection=name, vectors=data_pb2.FloatVectors(dimension=2, values=[8.0, 1.0]),
                                             limit=3, output_fields=["title"], consistency=data_pb2.CONSISTENCY_STRONG),
                           timeout=30)
        hits = reply.results[0]
        titles = {c.name: list(c.strings.values) for c in hits.fields}["title"]
        assert hits.ids.int_ids[0] == 8 and dict(zip(hits.ids.int_ids, titles)) == {i: values[i] for i in hits.ids.int_ids}
    finally:
        drop(api, name)


def test_strings_that_are_not_utf8_are_invalid_argument_naming_the_field(stub):
    daemon, _ = stub
    # CountRequest: collection = 1 "docs", filter = 2 with a 0xFF byte.
    code, details = raw_call(daemon, "Count", b"\x0a\x04docs\x12\x03id\xff")
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "filter is not valid UTF-8" in details
    code, details = raw_call(daemon, "DropCollection", b"\x0a\x02d\xc3")
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "collection is not valid UTF-8" in details


# --- 2. no silent narrowing -------------------------------------------------------------------

def test_values_out_of_their_fields_range_are_refused_with_column_and_row(stub):
    _, api = stub
    name = unique("e2e_narrow")
    create(api, name, [pb2.ScalarField(name="small", type=pb2.ScalarField.TYPE_INT32),
                       pb2.ScalarField(name="ratio", type=pb2.ScalarField.TYPE_FLOAT)], load=False)
    try:
        base = [int64_column("id", [1, 2]), vectors_column("vector", [[1, 0], [0, 1]], 2)]
        floats = data_pb2.Column(name="ratio", floats=data_pb2.FloatValues(values=[0.5, 0.25]))
        code, details = code_of(api.Insert, pb2.WriteRequest(collection=name, columns=base + [
            int64_column("small", [1, 2**40 + 3]), floats]))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "column 'small' row 1" in details and "INT32" in details
        code, details = code_of(api.Insert, pb2.WriteRequest(collection=name, columns=base + [
            int64_column("small", [-2**40, 0]), floats]))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "column 'small' row 0" in details
        code, details = code_of(api.Insert, pb2.WriteRequest(collection=name, columns=base + [
            data_pb2.Column(name="small", int32s=data_pb2.Int32Values(values=[1, 2])),
            data_pb2.Column(name="ratio", doubles=data_pb2.DoubleValues(values=[1e300, 0.5]))]))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "column 'ratio' row 0" in details and "FLOAT" in details
        # Only precision lost: accepted.
        api.Insert(pb2.WriteRequest(collection=name, columns=base + [
            data_pb2.Column(name="small", int32s=data_pb2.Int32Values(values=[1, 2])),
            data_pb2.Column(name="ratio", doubles=data_pb2.DoubleValues(values=[0.1234567890123, 2.0]))]), timeout=60)
    finally:
        drop(api, name)


# --- 3. dynamic fields --------------------------------------------------------------------------

def test_dynamic_fields_are_written_read_by_name_and_filtered(stub):
    _, api = stub
    name = unique("e2e_dynamic")
    create(api, name, dynamic=True)
    try:
        api.Insert(pb2.WriteRequest(collection=name, columns=[
            int64_column("id", [1, 2, 3]), vectors_column("vector", [[1, 0], [0, 1], [1, 1]], 2),
            string_column("color", ["red", "blue", "red"]), int64_column("size", [3, 40, 500])]), timeout=60)
        reply = columns_by_name(api.Query(pb2.QueryRequest(collection=name, filter='color == "red" and size > 10',
                                                           output_fields=["color", "size"],
                                                           consistency=data_pb2.CONSISTENCY_STRONG), timeout=30))
        assert reply == {"id": [3], "color": ["red"], "size": [500]}
        hits = api.Search(pb2.SearchRequest(collection=name, vectors=data_pb2.FloatVectors(dimension=2, values=[0, 1]),
                                            limit=1, output_fields=["size"]), timeout=30).results[0]
        assert list(hits.ids.int_ids) == [2] and {c.name: list(c.int64s.values) for c in hits.fields} == {"size": [40]}
    finally:
        drop(api, name)
    # Without enable_dynamic_fields an extra column is a clear error.
    plain = unique("e2e_plain")
    create(api, plain, load=False)
    try:
        code, details = code_of(api.Insert, pb2.WriteRequest(collection=plain, columns=[
            int64_column("id", [1]), vectors_column("vector", [[1, 0]], 2), string_column("color", ["red"])]))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "enable_dynamic_fields" in details
    finally:
        drop(api, plain)


# --- 4. one code per client mistake ---------------------------------------------------------------

def test_each_client_mistake_has_one_code(stub, titles):
    _, api = stub
    vectors = data_pb2.FloatVectors(dimension=2, values=[1, 0])
    mistakes = [
        (api.Search, pb2.SearchRequest(collection=titles, vectors=vectors, output_fields=["nope_field"]), "INVALID_ARGUMENT"),
        (api.Query, pb2.QueryRequest(collection=titles, filter="id > 0", output_fields=["nope_field"]), "INVALID_ARGUMENT"),
        (api.Get, pb2.GetRequest(collection=titles, ids=data_pb2.PrimaryKeys(int_ids=[1]), output_fields=["nope_field"]),
         "INVALID_ARGUMENT"),
        (api.Query, pb2.QueryRequest(collection=titles, filter="nope_field > 0"), "INVALID_ARGUMENT"),
        (api.Delete, pb2.DeleteRequest(collection=titles, filter="id >>> 3"), "INVALID_ARGUMENT"),
        (api.CreateIndex, pb2.CreateIndexRequest(collection=titles, field="nope_field", index=pb2.IndexSpec(type="FLAT")),
         "INVALID_ARGUMENT"),
        (api.DropIndex, pb2.DropIndexRequest(collection=titles, index_name="nope_idx"), "NOT_FOUND"),
        (api.DropPartition, pb2.PartitionRequest(collection=titles, partition="_default"), "INVALID_ARGUMENT"),
        (api.DropPartition, pb2.PartitionRequest(collection=titles, partition="nope_p"), "NOT_FOUND"),
        (api.CreateCollection, pb2.CreateCollectionRequest(collection=unique("e2e_n"), dimension=2, scalar_fields=[
            pb2.ScalarField(name="tag", type=pb2.ScalarField.TYPE_INT64, nullable=True)]), "FAILED_PRECONDITION"),
        (api.CreateCollection, pb2.CreateCollectionRequest(collection=unique("e2e_m"), dimension=2, scalar_fields=[
            pb2.ScalarField(name="tag", type=pb2.ScalarField.TYPE_INT64, max_length=10)]), "INVALID_ARGUMENT"),
    ]
    for call, request, expected in mistakes:
        code, details = code_of(call, request)
        assert code.name == expected, (request, details)
    api.CreatePartition(pb2.PartitionRequest(collection=titles, partition="p1"), timeout=30)
    code, _ = code_of(api.CreatePartition, pb2.PartitionRequest(collection=titles, partition="p1"))
    assert code == grpc.StatusCode.ALREADY_EXISTS
    code, details = code_of(api.DropPartition, pb2.PartitionRequest(collection=titles, partition="p1"))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "release" in details


def test_searching_a_collection_never_loaded_is_failed_precondition(stub):
    _, api = stub
    name = unique("e2e_unloaded")
    create(api, name, load=False)
    try:
        code, details = code_of(api.Search, pb2.SearchRequest(collection=name, vectors=data_pb2.FloatVectors(
            dimension=2, values=[1, 0])))
        assert code == grpc.StatusCode.FAILED_PRECONDITION and "is not loaded: load it first" in details
    finally:
        drop(api, name)


# --- 8. messages that say what to fix -----------------------------------------------------------

def test_messages_name_what_to_fix(stub):
    _, api = stub
    name = unique("e2e_messages")
    create(api, name, [pb2.ScalarField(name="meta", type=pb2.ScalarField.TYPE_JSON)], load=False)
    try:
        code, details = code_of(api.Insert, pb2.WriteRequest(collection=name, columns=[
            int64_column("id", [1, 2]), vectors_column("vector", [[1, 0], [0, 1]], 2),
            data_pb2.Column(name="meta", json=data_pb2.StringValues(values=['{"a": 1}', '{not json}']))]))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "column 'meta' row 1 is not valid JSON" in details
        code, details = code_of(api.Insert, pb2.WriteRequest(collection=name, columns=[
            int64_column("id", [1, 2]), data_pb2.Column(name="meta", json=data_pb2.StringValues(values=["{}", "{}"])),
            data_pb2.Column(name="vector", floats=data_pb2.FloatValues(values=[0.5] * 4))]))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "send its values as vectors" in details
    finally:
        drop(api, name)
    code, details = code_of(api.DescribeCollection, pb2.CollectionRequest(collection="e2e_nope_nope"))
    assert code == grpc.StatusCode.NOT_FOUND
    assert details.startswith("collection 'e2e_nope_nope' does not exist (Milvus: ") and "can't find collection" not in details


# --- 7. configuration typos ---------------------------------------------------------------------

def test_a_vdbm_variable_that_names_no_key_stops_vdbm_with_a_suggestion():
    result = subprocess.run([E2E_VDBM_BIN, "check-config", "--config", str(ROOT / "Config" / "vdbm.yaml")],
                            capture_output=True, text=True, env={**os.environ, "VDBM_AUTH_ENABLE": "true"}, timeout=30)
    assert result.returncode != 0
    assert "VDBM_AUTH_ENABLE" in result.stderr + result.stdout and "VDBM_AUTH_ENABLED" in result.stderr + result.stdout
