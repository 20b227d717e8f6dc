"""The fault test through the whole daemon, on the embedded Milvus 2.3.5: Milvus stops under a
running vdbm -> calls fail with UNAVAILABLE within their deadline and health says NOT_SERVING;
Milvus starts again -> vdbm's pool reconnects by itself, health says SERVING, calls succeed,
with no restart of vdbm. It stops the shared Milvus, so scripts/test runs it last, alone
(RUN_FAULT_TESTS=1)."""
import os
import subprocess
import time
import urllib.error
import urllib.request

import grpc
import pytest

from conftest import ROOT, Daemon, health_check
from grpc_health.v1 import health_pb2
from vdbm_api import pb2, pb2_grpc

pytestmark = pytest.mark.skipif(os.environ.get("RUN_FAULT_TESTS") != "1", reason="needs RUN_FAULT_TESTS=1")

SERVING, NOT_SERVING = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING


def milvus(*args, **env):
    started = time.monotonic()
    subprocess.run([str(ROOT / "scripts" / "milvus"), *args], check=True, env={**os.environ, **env})
    return time.monotonic() - started


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def readyz(daemon):
    """The admin listener's /readyz status code."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{daemon.admin_port}/readyz", timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_vdbm_survives_a_milvus_restart():
    daemon = Daemon()
    try:
        with grpc.insecure_channel(daemon.tcp_target) as channel:
            stub = pb2_grpc.VectorDBStub(channel)
            stub.ListCollections(pb2.ListCollectionsRequest(), timeout=10)
            assert readyz(daemon) == 200

            print(f"stop took {milvus('stop', 'server'):.1f} s")
            assert wait_for(lambda: health_check(daemon.tcp_target) == NOT_SERVING, 30), "health still SERVING"
            assert readyz(daemon) == 503  # /readyz follows Milvus as Health does
            for _ in range(5):
                started = time.monotonic()
                with pytest.raises(grpc.RpcError) as failure:
                    stub.ListCollections(pb2.ListCollectionsRequest(), timeout=3)
                elapsed = time.monotonic() - started
                assert failure.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
                assert elapsed < 3.5, f"a call outlived its deadline ({elapsed:.2f} s)"
                print(f"call while down: {failure.value.code().name} in {elapsed * 1000:.0f} ms")

            # Started again on its old data. Health is watched while Milvus starts: a TCP connect is
            # not readiness, so the first moment vdbm says SERVING, a call must already succeed.
            started = time.monotonic()
            starting = subprocess.Popen([str(ROOT / "scripts" / "milvus"), "start", "server"],
                                        env={**os.environ, "MILVUS_FRESH": "0"})
            assert wait_for(lambda: health_check(daemon.tcp_target) == SERVING, 240), "health never SERVING again"
            serving_after = time.monotonic() - started
            stub.ListCollections(pb2.ListCollectionsRequest(), timeout=2)
            assert readyz(daemon) == 200
            assert starting.wait(timeout=240) == 0
            print(f"vdbm SERVING {serving_after:.1f} s after the restart began, and a call succeeded at once; "
                  f"scripts/milvus saw Milvus answer after {time.monotonic() - started:.1f} s")
            assert daemon.process.poll() is None
            log = daemon.log_text()
            assert "did not answer a PING" not in log, log
    finally:
        assert daemon.stop() == 0, daemon.log_text()
