"""Several Milvus endpoints, one of which accepts connections and never answers (a hung proxy):
vdbm serves every call through the healthy one, none waits on the silent one, and health stays
SERVING. (The silent endpoint never passes the readiness call, so it never enters rotation.)"""
import socket
import time

import grpc

from conftest import MILVUS_ADDRESS, Daemon
from grpc_health.v1 import health_pb2
from conftest import health_check
from vdbm_api import pb2, pb2_grpc


def test_a_silent_endpoint_is_never_used():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)  # the kernel accepts; nobody ever reads or writes
    silent_address = f"127.0.0.1:{silent.getsockname()[1]}"
    daemon = Daemon(env={"VDBM_MILVUS_ENDPOINTS": f"{silent_address},{MILVUS_ADDRESS}"})
    try:
        with grpc.insecure_channel(daemon.tcp_target) as channel:
            stub = pb2_grpc.VectorDBStub(channel)
            slowest = 0.0
            for _ in range(100):
                started = time.monotonic()
                stub.ListCollections(pb2.ListCollectionsRequest(), timeout=10)
                slowest = max(slowest, time.monotonic() - started)
            print(f"100 calls with a silent endpoint configured first: slowest {slowest * 1000:.0f} ms")
            assert slowest < 2.0
            assert health_check(daemon.tcp_target) == health_pb2.HealthCheckResponse.SERVING
            info = stub.GetServerInfo(pb2.GetServerInfoRequest(), timeout=10)
            print(f"server info: {info}".replace("\n", " "))
        assert daemon.process.poll() is None
    finally:
        assert daemon.stop() == 0, daemon.log_text()
        silent.close()
