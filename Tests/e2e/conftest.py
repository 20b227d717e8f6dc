"""Fixtures for the end-to-end suite: a real `vdbm serve` process, called by independent
clients (Python grpcio and the h2 HTTP/2 library)."""
import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
# The Milvus 2.3.5 that scripts/test starts; vdbm's health is SERVING only while it is reachable.
MILVUS_ADDRESS = os.environ.get("MILVUS_ADDRESS", "127.0.0.1:19530")
# Milvus's credentials, when scripts/test started it with authorization on.
MILVUS_SETTINGS = {"VDBM_MILVUS_ENDPOINTS": MILVUS_ADDRESS}
if "MILVUS_USER" in os.environ:
    MILVUS_SETTINGS.update(VDBM_MILVUS_USER=os.environ["MILVUS_USER"],
                           VDBM_MILVUS_PASSWORD=os.environ.get("MILVUS_PASSWORD", ""))
E2E_VDBM_BIN = os.environ.get("E2E_VDBM_BIN", str(ROOT / ".build" / "debug" / "vdbm"))
# The Milvus Lite servers scripts/test starts beside Milvus 2.3.5 (each a test parameter where set):
# 3.2.2 (pure Python, newest protocol) and 2.5.1 (Milvus's own engine of the 2.5 line).
LITE_SERVERS = [pytest.param((name, os.environ.get(variable)), id=name,
                             marks=pytest.mark.skipif(not os.environ.get(variable), reason=f"{variable} unset"))
                for name, variable in (("lite-3.2.2", "MILVUS_LITE_ADDRESS"), ("lite-2.5.1", "MILVUS_LITE25_ADDRESS"))]


# SIGTERM to vdbm when the test process dies, so a killed test run never leaves a vdbm behind
# (Linux PR_SET_PDEATHSIG, set by util-linux's setpriv, which then execs vdbm). Not a Popen
# preexec_fn: running Python in the child of a process with threads (grpcio's, pymilvus's) can
# deadlock between fork and exec, and once did, hanging the suite.
DIE_WITH_PARENT = ["setpriv", "--pdeathsig", "TERM", "--"]


def lite_daemon(address):
    """A vdbm in front of a Milvus Lite (no credentials; it may not say SERVING at once)."""
    return Daemon(env={"VDBM_MILVUS_ENDPOINTS": address, "VDBM_MILVUS_USER": "", "VDBM_MILVUS_PASSWORD": "",
                       "VDBM_LOGGING_ACCESS_LOG": "false"}, wait_for_serving=False)


def milvus_client(uri, **options):
    """A pymilvus MilvusClient with a connection of its own that does not ping while idle.
    pymilvus pings every 10 s even with no call open, and grpcio shares one connection between
    all clients of an address; a Milvus Lite that counts such pings as abuse ends that connection
    with GOAWAY "Too many pings", and the next test to use it failed to connect (CI, 2026-12-04)."""
    from pymilvus import MilvusClient
    quiet = {"grpc.keepalive_permit_without_calls": False, "grpc.use_local_subchannel_pool": 1}
    return MilvusClient(uri=uri, dedicated=True, grpc_options=quiet, **options)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Daemon:
    """One vdbm process on a free TCP port and a Unix socket, its admin listener on another free
    port, its JSON log in a file."""

    def __init__(self, *extra_args: str, env: dict | None = None, wait_for_serving: bool = True,
                 config: str | None = None, tls: bool = False):
        """With `tls`, readiness is checked over the Unix socket (which stays plaintext)."""
        self.port = free_port()
        self.admin_port = free_port()
        self.dir = tempfile.mkdtemp(prefix="vdbm-e2e-")
        self.socket_path = os.path.join(self.dir, "vdbm.sock")
        self.log_path = os.path.join(self.dir, "vdbm.log")
        self.log_file = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [*DIE_WITH_PARENT, E2E_VDBM_BIN, "serve", "--config", config or str(ROOT / "Config" / "vdbm.yaml"),
             "--port", str(self.port),
             "--unix-socket", self.socket_path, "--set", f"admin.port={self.admin_port}", *extra_args],
            stdout=self.log_file, stderr=subprocess.STDOUT,
            env={**os.environ, **MILVUS_SETTINGS, **(env or {})})
        self.tls = tls
        self.wait_until_serving(accept_not_serving=not wait_for_serving)

    @property
    def tcp_target(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def unix_target(self) -> str:
        return f"unix://{self.socket_path}"

    def wait_until_serving(self, timeout: float = 30, accept_not_serving: bool = False) -> None:
        """Until health is SERVING (vdbm listens and reaches Milvus), or just answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"vdbm exited with {self.process.returncode}:\n{self.log_text()}")
            try:
                target = self.unix_target if self.tls else self.tcp_target
                if health_check(target) == health_pb2.HealthCheckResponse.SERVING or accept_not_serving:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"vdbm did not start serving:\n{self.log_text()}")

    def log_text(self) -> str:
        if not self.log_file.closed:
            self.log_file.flush()
        return Path(self.log_path).read_text(errors="replace")

    def log_records(self) -> list[dict]:
        return [json.loads(line) for line in self.log_text().splitlines() if line.strip()]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout=timeout)
        self.log_file.close()
        return code


def health_check(target: str, service: str = "", timeout: float = 2) -> int:
    with grpc.insecure_channel(target) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service),
                                                          timeout=timeout)
        return reply.status


class Relay:
    """A TCP relay to `upstream` that listens on `port` only once started: Milvus "starts" for a
    vdbm pointed at that port while nothing listened there; `cut` drops every open connection
    and stops listening: Milvus "stops"."""

    def __init__(self, port: int, upstream: str):
        self.port = port
        host, upstream_port = upstream.rsplit(":", 1)
        self.upstream = (host, int(upstream_port))
        self.listener = None
        self.sockets = []

    def start(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source, sink) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            Relay._shut(source)
            Relay._shut(sink)

    @staticmethod
    def _shut(end) -> None:
        try:
            end.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def cut(self) -> None:
        if self.listener:
            # shutdown first: a close alone leaves a socket that a thread blocks in accept() on
            # still listening (Linux).
            self._shut(self.listener)
            self.listener.close()
        for end in self.sockets:
            self._shut(end)


@pytest.fixture(scope="session")
def daemon():
    process = Daemon()
    yield process
    assert process.stop() == 0, process.log_text()


@pytest.fixture
def still_serving(daemon):
    """Proves after each test that the bad input it sent did not take the daemon down."""
    yield daemon
    assert daemon.process.poll() is None, "vdbm died:\n" + daemon.log_text()
    assert health_check(daemon.tcp_target) == health_pb2.HealthCheckResponse.SERVING


def admin_get(daemon, path, timeout=5):
    """GET `path` on the daemon's admin listener: (status, headers, body text)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{daemon.admin_port}{path}", timeout=timeout) as response:
        return response.status, response.headers, response.read().decode()


def scrape(daemon):
    """Every sample of /metrics as {(sample name, sorted labels): value}, and the text."""
    from prometheus_client.parser import text_string_to_metric_families

    status, headers, text = admin_get(daemon, "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples, text


def in_threads(count, work):
    """Runs work(i) for i in range(count), each on a thread of its own; returns what they raised."""
    return [outcome for outcome in outcomes_in_threads(count, work) if isinstance(outcome, Exception)]


def outcomes_in_threads(count, work):
    """Runs work(i) for i in range(count), each on a thread of its own, all starting together (so
    that their calls overlap); returns what each returned, or what it raised."""
    outcomes = [None] * count
    start = threading.Barrier(count)

    def run(index):
        start.wait()
        try:
            outcomes[index] = work(index)
        except Exception as error:  # noqa: BLE001 - returned to the test
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes
