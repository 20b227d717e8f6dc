"""The container image (scripts/image) run for real with podman: host networking, the test
Milvus behind it, a read-only root filesystem, an unprivileged user. Health says SERVING, a
vdbm.v1 Search finds a row it was given, /metrics answers, and SIGTERM drains and exits 0 within
the grace period. Runs where VDBM_IMAGE names a built image (scripts/test builds one when podman
is installed)."""
import json
import os
import subprocess
import time
import urllib.request

import grpc
import pytest
from grpc_health.v1 import health_pb2

from conftest import MILVUS_SETTINGS, ROOT, free_port, health_check
from vdbm_api import data_pb2, int64_column, pb2, pb2_grpc, vectors_column

IMAGE = os.environ.get("VDBM_IMAGE")
pytestmark = pytest.mark.skipif(not IMAGE, reason="VDBM_IMAGE unset (scripts/image builds the image)")
PODMAN_ENV = {**os.environ, "CONTAINERS_CONF": str(ROOT / "deploy" / "containers.conf")}
GRACE_SECONDS = 5
DIM = 8


def podman(*args, timeout=120, check=True):
    result = subprocess.run(["podman", *args], env=PODMAN_ENV, capture_output=True, text=True, timeout=timeout)
    if check:
        assert result.returncode == 0, f"podman {' '.join(args)}: {result.stdout}{result.stderr}"
    return result


@pytest.fixture(scope="module")
def container():
    port, admin_port = free_port(), free_port()
    name = f"vdbm-image-test-{os.getpid()}"
    settings = {**MILVUS_SETTINGS, "VDBM_SERVER_PORT": str(port), "VDBM_ADMIN_PORT": str(admin_port),
                "VDBM_SERVER_SHUTDOWN_GRACE_SECONDS": str(GRACE_SECONDS)}
    env_args = [argument for key, value in settings.items() for argument in ("--env", f"{key}={value}")]
    podman("run", "--detach", "--name", name, "--network", "host", "--read-only", "--cap-drop", "ALL",
           "--security-opt", "no-new-privileges", *env_args, IMAGE)
    target = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if health_check(target) == health_pb2.HealthCheckResponse.SERVING:
                    break
            except grpc.RpcError:
                pass
            assert time.monotonic() < deadline, podman("logs", name, check=False).stdout
            time.sleep(0.2)
        yield name, target, admin_port
    finally:
        podman("rm", "--force", name, check=False)


def test_the_image_runs_unprivileged_on_a_read_only_root(container):
    name, _, _ = container
    state = json.loads(podman("inspect", name).stdout)[0]
    assert state["HostConfig"]["ReadonlyRootfs"] is True
    assert state["Config"]["User"] == "65532:65532"
    with open(f"/proc/{state['State']['Pid']}/status") as status:
        uids = next(line for line in status if line.startswith("Uid:")).split()[1:]
    assert set(uids) == {"65532"}, uids


def test_the_image_carries_its_version_and_commit():
    labels = json.loads(podman("image", "inspect", IMAGE).stdout)[0]["Labels"]
    assert labels["org.opencontainers.image.version"] and labels["org.opencontainers.image.version"] != "unknown"
    assert len(labels["org.opencontainers.image.revision"]) == 40


def test_health_search_and_metrics_answer(container):
    _, target, admin_port = container
    assert health_check(target, "vdbm.v1.VectorDB") == health_pb2.HealthCheckResponse.SERVING
    name = f"image_{int(time.time() * 1000)}"
    with grpc.insecure_channel(target) as channel:
        stub = pb2_grpc.VectorDBStub(channel)
        stub.CreateCollection(pb2.CreateCollectionRequest(collection=name, dimension=DIM, metric=data_pb2.METRIC_L2,
                                                          index=pb2.IndexSpec(type="FLAT"), load=True), timeout=120)
        try:
            rows = [[float(i == j) * (i + 1) for j in range(DIM)] for i in range(DIM)]
            stub.Insert(pb2.WriteRequest(collection=name, columns=[int64_column("id", list(range(DIM))),
                                                                   vectors_column("vector", rows, DIM)]), timeout=30)
            reply = stub.Search(pb2.SearchRequest(collection=name, limit=1, consistency=data_pb2.CONSISTENCY_STRONG,
                                                  vectors=data_pb2.FloatVectors(dimension=DIM, values=rows[3])),
                                timeout=30)
            assert list(reply.results[0].ids.int_ids) == [3]
        finally:
            stub.DropCollection(pb2.CollectionRequest(collection=name), timeout=30)
    with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=5) as response:
        text = response.read().decode()
    assert 'vdbm_grpc_server_calls_total{grpc_method="/vdbm.v1.VectorDB/Search"' in text
    with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/readyz", timeout=5) as response:
        assert response.status == 200


def test_sigterm_drains_and_exits_zero_within_the_grace(container):
    name, target, _ = container
    started = time.monotonic()
    podman("kill", "--signal", "TERM", name)
    code = int(podman("wait", name, timeout=GRACE_SECONDS + 30).stdout.strip())
    elapsed = time.monotonic() - started
    assert code == 0, podman("logs", name, check=False).stdout
    assert elapsed < GRACE_SECONDS + 2, elapsed
    logs = podman("logs", name, check=False)
    assert '"msg":"vdbm stopped"' in logs.stdout + logs.stderr
