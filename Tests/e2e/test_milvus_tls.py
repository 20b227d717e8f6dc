"""vdbm calling Milvus 2.3.5 over TLS (Milvus's tlsMode 1, certificates by certs.py), with
Milvus's user and password on top, as Zilliz Cloud uses tokens over TLS. Runs only while the
test Milvus serves TLS: scripts/test restarts it so (MILVUS_TLS_DIR) after the other suites."""
import os
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2

from conftest import Daemon, health_check
from vdbm_api import data_pb2, int64_column, pb2, pb2_grpc, vectors_column

TLS_DIR = os.environ.get("MILVUS_TLS_DIR")
pytestmark = pytest.mark.skipif(not TLS_DIR, reason="the test Milvus does not serve TLS (MILVUS_TLS_DIR unset)")
SERVING, NOT_SERVING = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING


def tls_daemon(ca: str = "ca.pem", name: str | None = "localhost", env: dict | None = None) -> Daemon:
    """vdbm dialing 127.0.0.1 over TLS; Milvus's certificate names only DNS:localhost."""
    directory = Path(TLS_DIR).resolve()
    extra = ["--set", f"milvus.tls_server_name={name}"] if name else []
    return Daemon("--set", "milvus.tls=true", "--set", f"milvus.tls_ca_file={directory / ca}", *extra,
                  wait_for_serving=False, env=env)


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("credentials", ["user and password", "token"])
def test_vdbm_reads_and_writes_through_milvus_over_tls(credentials):
    # A token, as Zilliz Cloud gives one: for a self-hosted Milvus it is "user:password".
    env = None if credentials == "user and password" else {
        "VDBM_MILVUS_USER": "", "VDBM_MILVUS_PASSWORD": "",
        "VDBM_MILVUS_TOKEN": f"{os.environ.get('MILVUS_USER', 'root')}:{os.environ.get('MILVUS_PASSWORD', 'Milvus')}"}
    daemon = tls_daemon(env=env)
    try:
        assert wait_for(lambda: health_check(daemon.tcp_target) == SERVING, 30), daemon.log_text()
        with grpc.insecure_channel(daemon.tcp_target) as channel:
            stub = pb2_grpc.VectorDBStub(channel)
            assert stub.GetServerInfo(pb2.GetServerInfoRequest(), timeout=10).milvus_version.startswith("v2.3.5")
            name = f"e2e_tls_{int(time.time() * 1000)}"
            stub.CreateCollection(pb2.CreateCollectionRequest(
                collection=name, dimension=4, metric=data_pb2.METRIC_L2, index=pb2.IndexSpec(type="FLAT"), load=True),
                timeout=60)
            try:
                reply = stub.Insert(pb2.WriteRequest(collection=name, columns=[
                    int64_column("id", [1, 2, 3]), vectors_column("vector", [[0.1] * 4, [0.2] * 4, [0.3] * 4], 4)]),
                    timeout=10)
                assert reply.count == 3
                assert stub.Count(pb2.CountRequest(collection=name), timeout=10).count == 3
            finally:
                stub.DropCollection(pb2.CollectionRequest(collection=name), timeout=30)
    finally:
        assert daemon.stop() == 0, daemon.log_text()


@pytest.mark.parametrize("case", ["other CA", "wrong name", "no name for an address", "plaintext"])
def test_a_milvus_certificate_vdbm_cannot_trust_keeps_it_not_serving(case):
    daemon = {"other CA": lambda: tls_daemon("other-ca.pem"),
              "wrong name": lambda: tls_daemon(name="milvus.example"),
              "no name for an address": lambda: tls_daemon(name=None),
              "plaintext": lambda: Daemon(wait_for_serving=False)}[case]()
    try:
        time.sleep(3)
        assert health_check(daemon.tcp_target) == NOT_SERVING
        if case != "plaintext":
            assert "TLS handshake with 127.0.0.1" in daemon.log_text()
    finally:
        assert daemon.stop() == 0, daemon.log_text()
