"""The fault tests through the whole daemon, on the embedded Milvus 2.3.5:
- Milvus frozen (SIGSTOP) under traffic -> vdbm's PINGs go unanswered, the calls in flight fail
  within their deadline, health says NOT_SERVING and new calls fail at once; SIGCONT -> SERVING
  again, with no restart of vdbm.
- Milvus stops under a running vdbm -> calls fail with UNAVAILABLE within their deadline and
  health says NOT_SERVING; Milvus starts again -> vdbm's pool reconnects by itself, health says
  SERVING, calls succeed, with no restart of vdbm.
They stop the shared Milvus, so scripts/test runs them last, alone (RUN_FAULT_TESTS=1)."""
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request

import grpc
import pytest

from conftest import ROOT, Daemon, health_check, milvus_client
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


def milvus_pids():
    found = subprocess.run(["pgrep", "-f", "milvus run standalone"], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in found]


def test_vdbm_finds_a_frozen_milvus_and_recovers_after_it_resumes():
    pids = milvus_pids()
    assert pids, "no Milvus process found"
    daemon = Daemon()
    frozen = False
    calls = []  # (start, seconds, status) of every call made by the callers below
    stop = threading.Event()
    try:
        with grpc.insecure_channel(daemon.tcp_target) as channel:
            stub = pb2_grpc.VectorDBStub(channel)
            stub.ListCollections(pb2.ListCollectionsRequest(), timeout=10)

            def caller():
                while not stop.is_set():
                    started = time.monotonic()
                    try:
                        stub.ListCollections(pb2.ListCollectionsRequest(), timeout=10)
                        status = "OK"
                    except grpc.RpcError as error:
                        status = error.code().name
                    calls.append((started, time.monotonic() - started, status))
                    time.sleep(0.05)

            callers = [threading.Thread(target=caller) for _ in range(4)]
            for thread in callers:
                thread.start()
            time.sleep(1.5)
            for pid in pids:
                os.kill(pid, signal.SIGSTOP)
            frozen, frozen_at = True, time.monotonic()
            assert wait_for(lambda: health_check(daemon.tcp_target) == NOT_SERVING, 10), "health still SERVING"
            detected = time.monotonic() - frozen_at
            assert readyz(daemon) == 503
            started = time.monotonic()
            with pytest.raises(grpc.RpcError) as failure:
                stub.ListCollections(pb2.ListCollectionsRequest(), timeout=10)
            fail_fast = time.monotonic() - started
            assert failure.value.code() == grpc.StatusCode.UNAVAILABLE, failure.value
            assert fail_fast < 1.0, f"a call to a frozen Milvus took {fail_fast:.2f} s to fail"

            for pid in pids:
                os.kill(pid, signal.SIGCONT)
            frozen, resumed_at = False, time.monotonic()
            assert wait_for(lambda: health_check(daemon.tcp_target) == SERVING, 60), "health never SERVING again"
            recovered = time.monotonic() - resumed_at
            stub.ListCollections(pb2.ListCollectionsRequest(), timeout=5)
            stop.set()
            for thread in callers:
                thread.join()
        slowest = max(seconds for _, seconds, _ in calls)
        assert slowest < 11, f"a call outlived its 10 s deadline: {slowest:.2f} s"
        during = [status for start, _, status in calls if frozen_at <= start < resumed_at]
        print(f"frozen for {resumed_at - frozen_at:.1f} s: NOT_SERVING after {detected:.1f} s, a new call failed "
              f"UNAVAILABLE in {fail_fast * 1000:.0f} ms, SERVING {recovered:.1f} s after SIGCONT; {len(calls)} calls, "
              f"slowest {slowest:.2f} s, started while frozen: {len(during)} "
              f"({', '.join(f'{s} {during.count(s)}' for s in sorted(set(during)))})")
        assert daemon.process.poll() is None
        assert "did not answer a PING" in daemon.log_text()
    finally:
        stop.set()
        if frozen:
            for pid in pids:
                os.kill(pid, signal.SIGCONT)
        assert daemon.stop() == 0, daemon.log_text()


class PassThroughLoad:
    """An unmodified pymilvus client calling through vdbm's pass-through in a loop, each call
    with a 3 s timeout: how long each took, and how it ended."""

    TIMEOUT = 3.0

    def __init__(self, target):
        import logging


        # pymilvus logs every failed call and reconnect while Milvus is down, with its traceback
        # (some 16,000 lines); the test reports the outcomes itself.
        logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
        self.client = milvus_client(f"http://{target}", timeout=self.TIMEOUT)
        self.calls = []  # (seconds, "ok" or the error's type)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                self.client.list_collections(timeout=self.TIMEOUT)
                outcome = "ok"
            except Exception as error:  # noqa: BLE001 - recorded, judged by the test
                outcome = type(error).__name__
            self.calls.append((time.monotonic() - started, outcome))
            time.sleep(0.05)

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "a pass-through call never returned"
        return self.calls


def test_vdbm_survives_a_milvus_restart():
    daemon = Daemon()
    load = None
    try:
        load = PassThroughLoad(daemon.tcp_target)
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
            # pymilvus through the pass-through all along: calls failed or succeeded, none hung.
            calls, load = load.stop(), None
            failed = [outcome for _, outcome in calls if outcome != "ok"]
            slowest = max(seconds for seconds, _ in calls)
            print(f"pass-through under the restart: {len(calls)} pymilvus calls, {len(calls) - len(failed)} ok, "
                  f"{len(failed)} failed ({sorted(set(failed))}), slowest {slowest:.2f} s (timeout 3 s)")
            assert failed and len(failed) < len(calls)
            assert calls[-1][1] == "ok"
            assert slowest < PassThroughLoad.TIMEOUT + 1.5, f"a pass-through call took {slowest:.2f} s"
    finally:
        if load is not None:
            load.stop()
        assert daemon.stop() == 0, daemon.log_text()


def milvus_pid_file():
    return ROOT / (os.environ.get("MILVUS_DATA", ".data/milvus") + ".pid")


def test_searches_while_milvus_reloads_after_a_kill_are_unavailable_not_load_it_first():
    """Milvus 2.3.5 killed (SIGKILL) and started again reloads the collections it had loaded, and
    refuses searches as "collection not loaded" meanwhile. vdbm.v1 readers must then hear
    UNAVAILABLE (retry), never FAILED_PRECONDITION "load it first"."""
    from vdbm_api import data_pb2, int64_column, vectors_column

    daemon = Daemon(env={"VDBM_LOGGING_ACCESS_LOG": "false"})
    name = f"e2e_reload_{int(time.time() * 1000)}"
    outcomes = []  # (started, code name, details)
    stop = threading.Event()
    try:
        with grpc.insecure_channel(daemon.tcp_target) as channel:
            stub = pb2_grpc.VectorDBStub(channel)
            stub.CreateCollection(pb2.CreateCollectionRequest(
                collection=name, dimension=4, metric=data_pb2.METRIC_L2,
                index=pb2.IndexSpec(type="HNSW", params=[data_pb2.Param(key="M", value=8),
                                                         data_pb2.Param(key="efConstruction", value=32)]),
                load=True), timeout=120)
            vectors = [[float(i), float(i % 7), float(i % 3), 1.0] for i in range(2000)]
            stub.Insert(pb2.WriteRequest(collection=name, columns=[int64_column("id", list(range(2000))),
                                                                   vectors_column("vector", vectors, 4)]), timeout=60)
            stub.Flush(pb2.FlushRequest(collections=[name]), timeout=60)

            def reader():
                while not stop.is_set():
                    started = time.monotonic()
                    try:
                        stub.Search(pb2.SearchRequest(collection=name, vectors=data_pb2.FloatVectors(
                            dimension=4, values=[1.0, 2.0, 3.0, 1.0]), limit=3), timeout=3)
                        outcomes.append((started, "OK", ""))
                    except grpc.RpcError as error:
                        outcomes.append((started, error.code().name, error.details() or ""))
                    time.sleep(0.05)

            readers = [threading.Thread(target=reader) for _ in range(2)]
            for thread in readers:
                thread.start()
            time.sleep(1)
            os.killpg(int(milvus_pid_file().read_text()), signal.SIGKILL)
            killed_at = time.monotonic()
            time.sleep(3)
            milvus_pid_file().unlink(missing_ok=True)
            milvus("start", "server", MILVUS_FRESH="0")
            answering_at = time.monotonic()
            # Readers go on until searches have succeeded for a while again.
            assert wait_for(lambda: sum(1 for started, code, _ in outcomes[-20:] if code == "OK" and started > answering_at) >= 20,
                            240), "searches never succeeded again"
            stop.set()
            for thread in readers:
                thread.join()
            stub.DropCollection(pb2.CollectionRequest(collection=name), timeout=60)
    finally:
        stop.set()
        assert daemon.stop() == 0, daemon.log_text()

    after_kill = [(code, details) for started, code, details in outcomes if started >= killed_at]
    first_ok = min((started for started, code, _ in outcomes if started >= answering_at and code == "OK"), default=None)
    reloading = [(code, details) for started, code, details in outcomes if answering_at <= started < (first_ok or 0)]
    summary = {code: sum(1 for c, _ in after_kill if c == code) for code in sorted({c for c, _ in after_kill})}
    loading = sum(1 for code, details in after_kill if code == "UNAVAILABLE" and "is loading collection" in details)
    print(f"searches after the kill: {summary}; {loading} said 'Milvus is loading collection ...'; "
          f"between Milvus answering again and the first success: {len(reloading)} errors "
          f"({sorted({code for code, _ in reloading})})")
    assert not [d for c, d in after_kill if c == "FAILED_PRECONDITION"], "a search was told to load the collection"
    assert all(code == "UNAVAILABLE" for code, _ in reloading), reloading[:5]
    assert all(code in ("OK", "UNAVAILABLE", "DEADLINE_EXCEEDED") for code, _ in after_kill), summary
