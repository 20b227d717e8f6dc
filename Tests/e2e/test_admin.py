"""The admin listener end to end: `/metrics` scraped and parsed with the Prometheus client
library's own parser, its counters checked against the exact calls made; `/healthz`, `/readyz`,
and bad admin requests that must not hurt the daemon."""
import hashlib
import re
import shutil
import socket
import subprocess
import urllib.error
import urllib.request
from collections import Counter

import grpc
import pytest
from grpc_health.v1 import health_pb2

from conftest import E2E_VDBM_BIN, ROOT, Daemon, health_check, scrape
from conftest import admin_get as get
from vdbm_api import pb2, pb2_grpc

CHECK = "/grpc.health.v1.Health/Check"
LIST = "/vdbm.v1.VectorDB/ListCollections"
HAS = "/vdbm.v1.VectorDB/HasCollection"


@pytest.fixture(scope="module")
def admin_daemon():
    key = "metrics-key-e2e"
    daemon = Daemon(env={"VDBM_AUTH_ENABLED": "true",
                         "VDBM_AUTH_API_KEYS": f"m:read:{hashlib.sha256(key.encode()).hexdigest()}"})
    daemon.key = key
    yield daemon
    assert daemon.stop() == 0, daemon.log_text()


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_counters_move_by_exactly_the_calls_made(admin_daemon):
    before, _ = scrape(admin_daemon)
    auth = [("authorization", f"Bearer {admin_daemon.key}")]
    with grpc.insecure_channel(admin_daemon.tcp_target) as channel:
        for _ in range(5):
            health_check(admin_daemon.tcp_target)
        for _ in range(2):
            with pytest.raises(grpc.RpcError):
                health_check(admin_daemon.tcp_target, "no.such.Service")
        stub = pb2_grpc.VectorDBStub(channel)
        for _ in range(3):
            stub.ListCollections(pb2.ListCollectionsRequest(), metadata=auth, timeout=10)
        with pytest.raises(grpc.RpcError) as bad_name:
            stub.HasCollection(pb2.CollectionRequest(collection="no way"), metadata=auth, timeout=10)
        assert bad_name.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.RpcError) as no_key:
            stub.ListCollections(pb2.ListCollectionsRequest(), timeout=10)
        assert no_key.value.code() == grpc.StatusCode.UNAUTHENTICATED
        unknown = channel.unary_unary("/no.Such/Method", request_serializer=lambda b: b,
                                      response_deserializer=lambda b: b)
        for _ in range(4):
            with pytest.raises(grpc.RpcError):
                unknown(b"", timeout=5)
    after, _ = scrape(admin_daemon)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    expected = Counter({(CHECK, "OK"): 5, (CHECK, "NOT_FOUND"): 2, (LIST, "OK"): 3, (HAS, "INVALID_ARGUMENT"): 1,
                        (LIST, "UNAUTHENTICATED"): 1, ("unknown", "UNIMPLEMENTED"): 4})
    for (method, code), calls in expected.items():
        assert delta("vdbm_grpc_server_calls_total", grpc_method=method, grpc_code=code) == calls, (method, code)
        assert delta("vdbm_grpc_server_call_duration_seconds_count", grpc_method=method, grpc_code=code) == calls
    # Nothing else moved: every changed call counter is one of the above.
    moved = {key for key in after if key[0] == "vdbm_grpc_server_calls_total" and after[key] != before.get(key, 0.0)}
    assert {(dict(labels)["grpc_method"], dict(labels)["grpc_code"]) for _, labels in moved} == set(expected)
    for method in (CHECK, LIST, HAS):
        assert value(after, "vdbm_grpc_server_calls_in_flight", grpc_method=method) == 0
    assert delta("vdbm_grpc_server_request_bytes_total", grpc_method=HAS) == len(
        pb2.CollectionRequest(collection="no way").SerializeToString())
    assert delta("vdbm_auth_failures_total", reason="missing") == 1
    # Each ListCollections is one Milvus ShowCollections that answered.
    endpoint = admin_daemon_endpoint(after)
    assert delta("vdbm_milvus_calls_total", endpoint=endpoint, method="ShowCollections", outcome="ok") == 3
    assert value(after, "vdbm_milvus_pool_connections", state="ready") >= 1


def admin_daemon_endpoint(samples):
    endpoints = {dict(labels)["endpoint"] for name, labels in samples if name == "vdbm_milvus_calls_total"}
    assert len(endpoints) == 1, endpoints
    return endpoints.pop()


def test_exposition_is_well_formed(admin_daemon):
    _, text = scrape(admin_daemon)
    helps = re.findall(r"^# HELP (\S+) ", text, re.M)
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    assert sorted(helps) == sorted(types), "every family has one HELP and one TYPE line"
    for name, kind in types.items():
        assert re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", name)
        assert name.endswith("_total") == (kind == "counter"), name
    for required in ("process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
                     "process_start_time_seconds", "vdbm_build_info", "vdbm_grpc_server_calls_total"):
        assert required in types
    # Label values are bounded: no collection names or free text.
    assert "no way" not in text


def test_build_info_names_the_commit_that_was_stamped(admin_daemon):
    """scripts/stamp-commit (run by scripts/test and make before building) records the commit;
    without it the label says "unknown"."""
    _, text = scrape(admin_daemon)
    labels = re.search(r'^vdbm_build_info\{version="([^"]+)",commit="([^"]+)"\} 1', text, re.M)
    assert labels, text
    stamp = ROOT / "Sources" / "CVDBMBuildInfo" / "vdbm_build_commit.h"
    expected = re.search(r'"(.*)"', stamp.read_text()).group(1) if stamp.exists() else "unknown"
    assert labels.group(2) == expected


def test_one_version_string_in_build_info_server_info_and_the_cli(admin_daemon):
    """`vdbm --version`, GetServerInfo and vdbm_build_info say the same: release+commit."""
    _, text = scrape(admin_daemon)
    label = re.search(r'^vdbm_build_info\{version="([^"]+)",commit="([^"]+)"\} 1', text, re.M)
    assert label, text
    cli = subprocess.run([E2E_VDBM_BIN, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    with grpc.insecure_channel(admin_daemon.tcp_target) as channel:
        info = pb2_grpc.VectorDBStub(channel).GetServerInfo(
            pb2.GetServerInfoRequest(), metadata=[("authorization", f"Bearer {admin_daemon.key}")], timeout=10)
    assert cli == info.version == label.group(1), (cli, info.version, label.groups())
    assert re.fullmatch(r"\d+\.\d+\.\d+\+" + re.escape(label.group(2)), cli), cli


def test_healthz_and_readyz_answer_while_milvus_is_up(admin_daemon):
    assert get(admin_daemon, "/healthz")[0] == 200
    assert get(admin_daemon, "/readyz")[0] == 200


def test_other_paths_are_404_and_other_methods_405(admin_daemon):
    with pytest.raises(urllib.error.HTTPError) as missing:
        get(admin_daemon, "/nope")
    assert missing.value.code == 404
    request = urllib.request.Request(f"http://127.0.0.1:{admin_daemon.admin_port}/metrics", data=b"x", method="POST")
    with pytest.raises(urllib.error.HTTPError) as post:
        urllib.request.urlopen(request, timeout=5)
    assert post.value.code == 405


def raw(daemon, data, timeout=5):
    """Sends `data` on a fresh connection and returns what comes back until the server closes it
    (a reset counts as closed; the server not closing within `timeout` fails the test)."""
    with socket.create_connection(("127.0.0.1", daemon.admin_port), timeout=timeout) as connection:
        chunks = []
        try:
            connection.sendall(data)
            while chunk := connection.recv(65536):
                chunks.append(chunk)
        except (ConnectionResetError, BrokenPipeError):
            pass
        return b"".join(chunks)


def test_bad_admin_requests_do_not_hurt_the_daemon(admin_daemon):
    huge_header = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n"
    assert raw(admin_daemon, huge_header).startswith(b"HTTP/1.1 400")
    long_path = b"GET /" + b"p" * 100_000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    assert raw(admin_daemon, long_path).startswith(b"HTTP/1.1 400")
    http10 = raw(admin_daemon, b"GET /healthz HTTP/1.0\r\n\r\n")
    assert http10.startswith(b"HTTP/1.0 200") and http10.endswith(b"ok\n")
    assert raw(admin_daemon, b"\x16\x03\x01garbage\r\n\r\n").startswith(b"HTTP/1.1 400")
    idle = [socket.create_connection(("127.0.0.1", admin_daemon.admin_port), timeout=5) for _ in range(1000)]
    try:
        assert get(admin_daemon, "/healthz")[0] == 200
        assert health_check(admin_daemon.tcp_target) == health_pb2.HealthCheckResponse.SERVING
    finally:
        for connection in idle:
            connection.close()
    assert get(admin_daemon, "/metrics")[0] == 200


def promtool(*args, stdin=None):
    tool = shutil.which("promtool")
    assert tool, "promtool is missing: scripts/setup installs it (Debian package prometheus)"
    return subprocess.run([tool, *args], input=stdin, capture_output=True, text=True, timeout=60)


def test_promtool_accepts_the_exposition(admin_daemon):
    _, text = scrape(admin_daemon)
    result = promtool("check", "metrics", stdin=text)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_the_documented_alerting_rules(tmp_path):
    readme = (ROOT / "docs" / "operations.md").read_text()
    blocks = re.findall(r"```yaml\n(groups:.*?)```", readme, re.S)
    assert len(blocks) == 1
    rules = tmp_path / "rules.yml"
    rules.write_text(blocks[0])
    result = promtool("check", "rules", str(rules))
    assert result.returncode == 0 and "3 rules found" in result.stdout, result.stdout + result.stderr
