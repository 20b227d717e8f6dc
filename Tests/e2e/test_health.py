"""grpc.health.v1.Health (Check and Watch) called by the stock Python grpcio client, over TCP and the Unix socket."""
import signal
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from conftest import MILVUS_ADDRESS, Daemon, Relay, free_port, health_check

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


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


def test_watch_streams_the_current_status_and_keeps_the_call_open(still_serving):
    with grpc.insecure_channel(still_serving.tcp_target) as channel:
        stream = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(), timeout=2)
        assert next(stream).status == SERVING
        # No change: nothing more until the deadline ends the call.
        with pytest.raises(grpc.RpcError) as failure:
            next(stream)
    assert failure.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_watch_of_an_unknown_service_says_service_unknown(still_serving):
    with grpc.insecure_channel(still_serving.tcp_target) as channel:
        stream = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=2)
        assert next(stream).status == health_pb2.HealthCheckResponse.SERVICE_UNKNOWN
        stream.cancel()


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


def test_watch_sees_not_serving_then_serving_when_milvus_starts_then_the_shutdown():
    port = free_port()
    relay = Relay(port, MILVUS_ADDRESS)
    daemon = Daemon(env={"VDBM_MILVUS_ENDPOINTS": f"127.0.0.1:{port}"}, wait_for_serving=False)
    try:
        with grpc.insecure_channel(daemon.tcp_target) as channel:
            stream = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(), timeout=60)
            assert next(stream).status == NOT_SERVING
            started = time.monotonic()
            relay.start()
            assert next(stream).status == SERVING
            print(f"SERVING {time.monotonic() - started:.2f} s after Milvus became reachable")
            daemon.process.send_signal(signal.SIGTERM)
            assert next(stream).status == NOT_SERVING
            with pytest.raises(grpc.RpcError) as failure:
                next(stream)
            assert failure.value.code() == grpc.StatusCode.UNAVAILABLE
        assert daemon.stop() == 0, daemon.log_text()
    finally:
        daemon.stop(signal.SIGKILL)
        relay.cut()
