"""Server reflection through stock clients: grpcurl 1.8.6 (without any .proto file) and grpcio
asking grpc.reflection.v1 directly."""
import json
import subprocess
import sys
from pathlib import Path

import grpc
from google.protobuf import descriptor_pb2

from conftest import Daemon

GRPCURL = str(Path(sys.executable).parent / "grpcurl")
SERVICES = ["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection", "vdbm.v1.VectorDB"]


def grpcurl(*args: str) -> subprocess.CompletedProcess:
    """`grpcurl -plaintext [flags] address verb...`: flags before the address, as grpcurl wants."""
    return subprocess.run([GRPCURL, "-plaintext", "-max-time", "10", *args], capture_output=True, text=True, timeout=30)


def test_grpcurl_lists_describes_and_calls_without_proto_files(still_serving):
    listed = grpcurl(still_serving.tcp_target, "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == SERVICES

    service = grpcurl(still_serving.tcp_target, "describe", "vdbm.v1.VectorDB")
    assert service.returncode == 0, service.stderr
    assert "rpc Search ( .vdbm.v1.SearchRequest ) returns ( .vdbm.v1.SearchResponse );" in service.stdout

    message = grpcurl(still_serving.tcp_target, "describe", "vdbm.v1.SearchRequest")
    assert message.returncode == 0, message.stderr
    assert "string collection = 1;" in message.stdout and ".vdbm.v1.FloatVectors vectors = 2;" in message.stdout

    watch = grpcurl(still_serving.tcp_target, "describe", "grpc.health.v1.Health.Watch")
    assert "returns ( stream .grpc.health.v1.HealthCheckResponse )" in watch.stdout

    call = grpcurl("-d", "{}", still_serving.tcp_target, "vdbm.v1.VectorDB/ListCollections")
    assert call.returncode == 0, call.stderr
    assert isinstance(json.loads(call.stdout or "{}").get("collections", []), list)

    health = grpcurl("-d", '{"service": "vdbm.v1.VectorDB"}', still_serving.tcp_target, "grpc.health.v1.Health/Check")
    assert json.loads(health.stdout) == {"status": "SERVING"}

    unknown = grpcurl(still_serving.tcp_target, "describe", "no.Such")
    assert unknown.returncode != 0 and "Symbol not found: no.Such" in unknown.stderr


def reflection_v1(target: str, requests: list[bytes]) -> list[bytes]:
    """Asks grpc.reflection.v1 on one stream; the messages are built by hand (field numbers of
    the reflection protocol), so that this test shares no code with vdbm."""
    def string_field(number: int, text: str) -> bytes:
        data = text.encode()
        return bytes([number << 3 | 2, len(data)]) + data

    with grpc.insecure_channel(target) as channel:
        call = channel.stream_stream("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                                     request_serializer=lambda b: b, response_deserializer=lambda b: b)
        return list(call(iter([string_field(*r) for r in requests]), timeout=10))


def file_descriptors(answer: bytes) -> list[descriptor_pb2.FileDescriptorProto]:
    """The FileDescriptorProtos in field 4 (file_descriptor_response) of an answer."""
    from google.protobuf.internal import decoder
    files, position = [], 0
    while position < len(answer):
        tag, position = decoder._DecodeVarint(answer, position)
        length, position = decoder._DecodeVarint(answer, position)
        body = answer[position:position + length]
        position += length
        if tag >> 3 == 4:
            inner = 0
            while inner < len(body):
                _, inner = decoder._DecodeVarint(body, inner)
                size, inner = decoder._DecodeVarint(body, inner)
                files.append(descriptor_pb2.FileDescriptorProto.FromString(body[inner:inner + size]))
                inner += size
    return files


def test_reflection_v1_serves_files_with_their_imports_in_one_stream(still_serving):
    answers = reflection_v1(still_serving.tcp_target, [
        (4, "vdbm.v1.VectorDB.Search"), (3, "grpc/health/v1/health.proto"), (4, "no.Such")])
    assert len(answers) == 3
    by_symbol = file_descriptors(answers[0])
    assert [f.name for f in by_symbol] == ["vdbm/v1/vectordb.proto", "vdbm/v1/data.proto"]
    assert [m.name for m in by_symbol[0].service[0].method][:3] == ["CreateCollection", "DropCollection", "HasCollection"]
    assert [f.name for f in file_descriptors(answers[1])] == ["grpc/health/v1/health.proto"]
    assert b"symbol no.Such not found" in answers[2] and not file_descriptors(answers[2])


def test_reflection_can_be_turned_off():
    daemon = Daemon("--set", "server.reflection=false")
    try:
        listed = grpcurl(daemon.tcp_target, "list")
        assert listed.returncode != 0
        assert "does not support the reflection API" in listed.stderr
    finally:
        assert daemon.stop() == 0, daemon.log_text()
