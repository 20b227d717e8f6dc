"""Driver of scripts/chaos: writers and readers through one vdbm while the Milvus 2.3.5 behind it
is killed (SIGKILL) and restarted, then frozen (SIGSTOP) and resumed, in cycles. Afterwards it
checks what vdbm promised, straight against Milvus (pymilvus, strong consistency):
- every insert vdbm acknowledged is present exactly once;
- an insert that failed is absent or present once (which, is counted: an insert cut off after
  Milvus took it may have been applied, and vdbm says UNAVAILABLE rather than guess);
- no call took longer than its deadline + 1 s;
- vdbm never restarted;
- after each recovery (Milvus answering again), a call through vdbm succeeds within 2 s.
Prints the counts; exits 1 when a promise was broken."""
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import grpc
from pymilvus import MilvusClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Tests" / "e2e"))
from conftest import Daemon, health_check, scrape  # noqa: E402
from grpc_health.v1 import health_pb2  # noqa: E402
from vdbm_api import data_pb2, int64_column, pb2, pb2_grpc, vectors_column  # noqa: E402

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 120
# CHAOS_WRITERS writers of CHAOS_BATCH rows per insert (8 x 20 by default; 32 x 1 puts the
# write coalescer under the faults: the daemon merges their concurrent inserts).
WRITERS, READERS, DIM = int(os.environ.get("CHAOS_WRITERS", "8")), 2, 8
BATCH = int(os.environ.get("CHAOS_BATCH", "20"))
# Between two inserts of one writer: keeps the rows to check afterwards at a few thousand a second.
PAUSE = float(os.environ.get("CHAOS_PAUSE", "0.05"))
DEADLINE = 10.0
MILVUS = os.environ.get("MILVUS_ADDRESS", "127.0.0.1:19530")
USER, PASSWORD = os.environ.get("MILVUS_USER", ""), os.environ.get("MILVUS_PASSWORD", "")


def milvus_script(*args):
    subprocess.run([str(ROOT / "scripts" / "milvus"), *args], check=True,
                   env={**os.environ, "MILVUS_FRESH": "0", "MILVUS_AUTH": "true" if USER else "false"})


def milvus_pids():
    found = subprocess.run(["pgrep", "-f", "milvus run standalone"], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in found]


def milvus_pid_file():
    """scripts/milvus's pid file (its data folder + .pid; relative paths are from the repository)."""
    return ROOT / (os.environ.get("MILVUS_DATA", ".data/milvus") + ".pid")


class Log:
    """Every call: (kind, start, seconds, code, first id)."""

    def __init__(self):
        self.calls = []
        self.lock = threading.Lock()

    def add(self, *record):
        with self.lock:
            self.calls.append(record)


def writer(stub, number, stop, log, acked, failed):
    sequence = 0
    while not stop.is_set():
        first = number * 1_000_000_000 + sequence * BATCH
        ids = list(range(first, first + BATCH))
        sequence += 1
        request = pb2.WriteRequest(collection=NAME, columns=[
            int64_column("id", ids), vectors_column("vector", [[(i % 97) / 97.0] * DIM for i in ids], DIM)])
        started = time.monotonic()
        try:
            stub.Insert(request, timeout=DEADLINE)
            code = "OK"
            acked.extend(ids)
        except grpc.RpcError as error:
            code = error.code().name
            failed.append((code, ids))
        log.add("insert", started, time.monotonic() - started, code, first)
        time.sleep(PAUSE)


def reader(stub, stop, log):
    while not stop.is_set():
        started = time.monotonic()
        try:
            stub.Search(pb2.SearchRequest(collection=NAME, vectors=data_pb2.FloatVectors(dimension=DIM, values=[0.5] * DIM),
                                          limit=5, params=[data_pb2.Param(key="ef", value=16)]), timeout=DEADLINE)
            code = "OK"
        except grpc.RpcError as error:
            code = error.code().name
        log.add("search", started, time.monotonic() - started, code, None)
        if code != "OK":
            time.sleep(0.05)


def milvus_serves(client):
    """Whether Milvus answers a strongly consistent query on the collection (after a restart on
    old data it may take a while to replay its log; once in five tries, release and load it)."""
    deadline = time.monotonic() + 300
    attempt = 0
    while time.monotonic() < deadline:
        attempt += 1
        try:
            if attempt % 5 == 0:
                client.release_collection(NAME, timeout=60)
            client.load_collection(NAME, timeout=120)
            client.query(NAME, filter="id < 0", output_fields=["id"], limit=1, consistency_level="Strong", timeout=30)
            return True
        except Exception as error:  # noqa: BLE001 (any failure means: not yet)
            print(f"Milvus does not serve {NAME} yet ({type(error).__name__}); trying again", flush=True)
            time.sleep(5)
    return False


def first_success_after(log, moment):
    ends = [start + seconds for _, start, seconds, code, _ in log.calls if code == "OK" and start + seconds >= moment]
    return min(ends) - moment if ends else None


NAME = f"chaos_{int(time.time())}"


def main():
    milvus_script("start", "server")
    daemon = Daemon("--set", "logging.access_log=false")
    pid = daemon.process.pid
    channel = grpc.insecure_channel(daemon.tcp_target)
    stub = pb2_grpc.VectorDBStub(channel)
    stub.CreateCollection(pb2.CreateCollectionRequest(
        collection=NAME, dimension=DIM, metric=data_pb2.METRIC_L2,
        index=pb2.IndexSpec(type="HNSW", params=[data_pb2.Param(key="M", value=8),
                                                 data_pb2.Param(key="efConstruction", value=32)]),
        load=True), timeout=120)

    stop, log, acked, failed = threading.Event(), Log(), [], []
    threads = [threading.Thread(target=writer, args=(stub, k, stop, log, acked, failed)) for k in range(WRITERS)]
    threads += [threading.Thread(target=reader, args=(stub, stop, log)) for _ in range(READERS)]
    for thread in threads:
        thread.start()

    recoveries = []  # (what, moment Milvus answered again)
    began = time.monotonic()
    cycle = 0
    while time.monotonic() - began < SECONDS:
        cycle += 1
        time.sleep(5)
        print(f"cycle {cycle}: SIGKILL Milvus", flush=True)
        os.killpg(int(milvus_pid_file().read_text()), signal.SIGKILL)
        time.sleep(3)
        milvus_pid_file().unlink(missing_ok=True)
        restarting = time.monotonic()
        milvus_script("start", "server")  # returns once Milvus answers ShowCollections
        recoveries.append(("restart", time.monotonic()))
        print(f"cycle {cycle}: Milvus answers again, {time.monotonic() - restarting:.0f} s after the restart began",
              flush=True)
        time.sleep(8)
        print(f"cycle {cycle}: SIGSTOP Milvus for 6 s", flush=True)
        pids = milvus_pids()
        for p in pids:
            os.kill(p, signal.SIGSTOP)
        time.sleep(6)
        for p in pids:
            os.kill(p, signal.SIGCONT)
        recoveries.append(("resume", time.monotonic()))
        time.sleep(5)
    stop.set()
    for thread in threads:
        thread.join()
    ran = time.monotonic() - began

    problems = []
    # What Milvus holds, read directly with strong consistency once it serves the collection again.
    client = MilvusClient(uri=f"http://{MILVUS}", token=f"{USER}:{PASSWORD}" if USER else "")
    if not milvus_serves(client):
        print(f"\nCHAOS UNVERIFIED: after {cycle} cycles Milvus does not answer queries on {NAME} (strong consistency) "
              f"within 5 minutes, even after a release and load: it did not recover, so what it holds cannot be checked. "
              f"vdbm: acknowledged {len(acked)} rows, {len(failed)} batches failed; same process: "
              f"{daemon.process.poll() is None}.")
        daemon.stop()
        sys.exit(2)
    wanted = acked + [i for _, ids in failed for i in ids]
    present = Counter()
    # Each writer's ids are one contiguous run from writer * 10^9: read them back in ranges of
    # 8,000 ids (a query returns at most 16,384 rows, room for every row twice).
    for number in range(WRITERS):
        base = number * 1_000_000_000
        top = max([i for i in wanted if base <= i < base + 1_000_000_000], default=base - 1)
        for low in range(base, top + 1, 8000):
            rows = client.query(NAME, filter=f"id >= {low} and id < {low + 8000}", output_fields=["id"],
                                limit=16384, consistency_level="Strong", timeout=120)
            present.update(row["id"] for row in rows)
    lost = [i for i in acked if present[i] == 0]
    doubled = [i for i in wanted if present[i] > 1]
    failed_applied = sum(1 for _, ids in failed if all(present[i] == 1 for i in ids))
    failed_absent = sum(1 for _, ids in failed if all(present[i] == 0 for i in ids))
    failed_partial = len(failed) - failed_applied - failed_absent
    if lost:
        problems.append(f"{len(lost)} acknowledged rows missing, e.g. {lost[:5]}")
    if doubled:
        problems.append(f"{len(doubled)} rows present more than once, e.g. {doubled[:5]}")
    if failed_partial:
        problems.append(f"{failed_partial} failed batches partly present")
    slowest = max(seconds for _, _, seconds, _, _ in log.calls)
    if slowest > DEADLINE + 1:
        problems.append(f"a call took {slowest:.2f} s (deadline {DEADLINE:.0f} s)")
    if daemon.process.poll() is not None or daemon.process.pid != pid:
        problems.append("vdbm exited")
    serving = health_check(daemon.tcp_target) == health_pb2.HealthCheckResponse.SERVING
    if not serving:
        problems.append("vdbm is not SERVING at the end")
    firsts = [(what, first_success_after(log, moment)) for what, moment in recoveries]
    for what, delay in firsts:
        if delay is None or delay > 2:
            problems.append(f"first successful call after a Milvus {what}: {delay if delay is None else round(delay, 2)} s")

    codes = Counter((kind, code) for kind, _, _, code, _ in log.calls)
    print(f"\n{cycle} cycles in {ran:.0f} s (each: SIGKILL + restart, SIGSTOP 6 s + SIGCONT)")
    print(f"calls: {len(log.calls)}; by kind and status: " + ", ".join(f"{k} {c} {n}" for (k, c), n in sorted(codes.items())))
    print(f"inserts acknowledged: {len(acked) // BATCH} batches ({len(acked)} rows), all present exactly once: "
          f"{not lost and not any(present[i] > 1 for i in acked)}")
    print(f"inserts failed: {len(failed)} batches: absent {failed_absent}, applied once {failed_applied}, "
          f"partly {failed_partial}; failure codes: {dict(Counter(code for code, _ in failed))}")
    print(f"slowest call: {slowest:.2f} s (deadline {DEADLINE:.0f} s)")
    print("first successful call through vdbm after Milvus answered again: "
          + ", ".join(f"{what} {delay:.2f} s" if delay is not None else f"{what} never" for what, delay in firsts))
    print(f"vdbm: same process throughout, SERVING at the end: {daemon.process.poll() is None and serving}")
    try:
        samples, _ = scrape(daemon)
        writes = samples.get(("vdbm_write_batch_rows_count", ()), 0)
        rows = samples.get(("vdbm_write_batch_rows_sum", ()), 0)
        inserts = sum(1 for kind, *_ in log.calls if kind == "insert")
        print(f"write coalescing: {inserts} inserts left as {writes:.0f} Milvus writes of {rows:.0f} rows "
              f"({rows / writes if writes else 0:.1f} rows per write)")
    except Exception as error:  # noqa: BLE001 - a report line, not a promise
        print(f"write coalescing: no figures ({error})")

    client.drop_collection(NAME)
    channel.close()
    daemon.stop()
    if problems:
        print("\nCHAOS FAILED:\n  " + "\n  ".join(problems))
        sys.exit(1)
    print("\nchaos: every promise held")


if __name__ == "__main__":
    main()
