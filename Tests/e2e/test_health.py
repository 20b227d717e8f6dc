"""grpc.health.v1.Health called by the stock Python grpcio client, over TCP and the Unix socket."""
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from conftest import health_check

SERVING = health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize("transport", ["tcp", "unix"])
def test_check_reports_serving_for_the_server(daemon, transport):
    target = daemon.tcp_target if transport == "tcp" else daemon.unix_target
    assert health_check(target) == SERVING


@pytest.mark.parametrize("transport", ["tcp", "unix"])
def test_check_reports_serving_for_the_health_service(daemon, transport):
    target = daemon.tcp_target if transport == "tcp" else daemon.unix_target
    assert health_check(target, "grpc.health.v1.Health") == SERVING


def test_check_of_an_unknown_service_is_not_found(still_serving):
    with pytest.raises(grpc.RpcError) as failure:
        health_check(still_serving.tcp_target, "no.such.Service")
    assert failure.value.code() == grpc.StatusCode.NOT_FOUND
    assert "no.such.Service" in failure.value.details()


def test_watch_is_unimplemented(still_serving):
    with grpc.insecure_channel(still_serving.tcp_target) as channel:
        stream = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(), timeout=2)
        with pytest.raises(grpc.RpcError) as failure:
            next(stream)
    assert failure.value.code() == grpc.StatusCode.UNIMPLEMENTED


@pytest.mark.parametrize("path", ["/grpc.health.v1.Health/Nope", "/no.Such/Method"])
def test_unknown_method_or_service_is_unimplemented(still_serving, path):
    with grpc.insecure_channel(still_serving.tcp_target) as channel:
        call = channel.unary_unary(path, request_serializer=lambda b: b, response_deserializer=lambda b: b)
        with pytest.raises(grpc.RpcError) as failure:
            call(b"", timeout=2)
    assert failure.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_many_concurrent_calls_on_one_channel_all_succeed(still_serving):
    with grpc.insecure_channel(still_serving.tcp_target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        futures = [stub.Check.future(health_pb2.HealthCheckRequest(), timeout=5) for _ in range(500)]
        assert all(future.result().status == SERVING for future in futures)


def test_metadata_and_a_generous_deadline_are_accepted(still_serving):
    with grpc.insecure_channel(still_serving.tcp_target) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=30,
            metadata=[("x-tenant", "blue"), ("trace-bin", b"\x00\x01\xff"), ("x-request-id", "e2e-meta-1")])
    assert reply.status == SERVING


def test_a_message_over_the_limit_is_resource_exhausted(still_serving):
    with grpc.insecure_channel(still_serving.tcp_target) as channel:
        call = channel.unary_unary("/grpc.health.v1.Health/Check",
                                   request_serializer=lambda b: b, response_deserializer=lambda b: b)
        with pytest.raises(grpc.RpcError) as failure:
            call(b"\x0a" + b"\x00" * (65 << 20), timeout=30)
    assert failure.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "exceeds the limit" in failure.value.details()


def test_malformed_protobuf_is_invalid_argument_with_a_clear_message(still_serving):
    with grpc.insecure_channel(still_serving.tcp_target) as channel:
        call = channel.unary_unary("/grpc.health.v1.Health/Check",
                                   request_serializer=lambda b: b, response_deserializer=lambda b: b)
        with pytest.raises(grpc.RpcError) as failure:
            call(b"\x0a\x10abc", timeout=2)
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid grpc.health.v1.HealthCheckRequest" in failure.value.details()
