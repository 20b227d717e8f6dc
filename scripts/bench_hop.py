"""Driver of scripts/bench-hop (a benchmark, not a test): what one hop in front of Milvus costs.
The same distinct single-vector searches go straight to Milvus, through haproxy and nghttpx as
plain gRPC proxies (h2c both sides, see ../shared/ANCHORS.md), through vdbm.v1 and through vdbm's
pass-through. Targets run interleaved, round by round, in a rotating order, because Milvus drifts
between runs by more than a hop costs.

- One caller: each round's p50 of every target minus direct Milvus's p50 in the same round (the
  added p50 is the median of those differences), and the proxy's own CPU per call (/proc utime +
  stime, nghttpx's worker processes included).
- Many callers (MANY, default 32,128): searches/s, p99 and the proxy's CPU per search (vdbm.v1
  merges concurrent searches, the proxies cannot: their CPU per search is per Milvus search).
- PIN=1: Milvus (launcher and server) on core 1, everything else (proxies, vdbm, the load
  generator) on core 0, the shape of a sidecar beside its application with Milvus on its own
  machines. Then Milvus alone is also sent the same vectors already merged (nq 32 one at a time,
  nq 16 two at a time): the limit merged searches are reported against.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from pymilvus import MilvusClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_search as shared  # noqa: E402  (collection, daemons, load runs, hit checks)

ROUNDS = int(os.environ.get("ROUNDS", "5"))
DURATION = float(os.environ.get("DURATION", "5"))
MANY = [int(c) for c in os.environ.get("MANY", "32,128").split(",") if c]
MANY_ROUNDS = int(os.environ.get("MANY_ROUNDS", "2"))
PIN = os.environ.get("PIN") == "1"
MILVUS_PORT = shared.MILVUS.rsplit(":", 1)[1]


def start_haproxy(work):
    port = shared.free_port()
    config = work / "haproxy.cfg"
    config.write_text("global\n  nbthread 2\ndefaults\n  mode http\n  timeout client 60s\n  timeout server 60s\n"
                      f"  timeout connect 5s\nfrontend f\n  bind 127.0.0.1:{port} proto h2\n  default_backend b\n"
                      f"backend b\n  server m 127.0.0.1:{MILVUS_PORT} proto h2\n")
    process = subprocess.Popen(["haproxy", "-f", str(config), "-db"], stdout=subprocess.DEVNULL,
                               stderr=open(work / "haproxy.log", "wb"))
    return process, f"127.0.0.1:{port}"


def start_nghttpx(work):
    port = shared.free_port()
    process = subprocess.Popen(
        ["nghttpx", "--conf=/dev/null", f"--frontend=127.0.0.1,{port};no-tls",
         f"--backend=127.0.0.1,{MILVUS_PORT};;proto=h2", "--workers=2", "--no-via", "--no-server-rewrite",
         "--errorlog-file=/dev/null", "--backend-read-timeout=60s", "--frontend-read-timeout=60s",
         "--stream-read-timeout=60s"], stdout=subprocess.DEVNULL, stderr=open(work / "nghttpx.log", "wb"))
    return process, f"127.0.0.1:{port}"


def process_tree(pid):
    """A process and all its descendants (nghttpx forks its workers)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        children = subprocess.run(["pgrep", "-P", str(current)], capture_output=True, text=True).stdout.split()
        pending.extend(int(child) for child in children)
    return found


def pin_milvus():
    found = subprocess.run(["pgrep", "-f", "embedded-milvus|milvus run standalone"], capture_output=True,
                           text=True).stdout.split()
    for pid in found:
        subprocess.run(["taskset", "-a", "-p", "-c", "1", pid], check=True, capture_output=True)
    return len(found)


def measure(target, concurrency, query_file, pids, milvus):
    """One load run; the CPU of `pids` (the hop's processes, none for direct) per call."""
    before = shared.cpu_seconds(pids)
    result = shared.bench(target, concurrency, query_file, milvus=milvus, duration=DURATION)
    spent = shared.cpu_seconds(pids) - before
    result["hop_cpu_us"] = spent / (result["calls"] * (DURATION + 2) / DURATION) * 1e6 if pids else 0.0
    return result


def wait_until_answering(target, query_file):
    for _ in range(100):
        try:
            shared.bench(target, 1, query_file, milvus=True, duration=0.2)
            return
        except subprocess.CalledProcessError:
            time.sleep(0.1)
    raise RuntimeError(f"{target} does not answer")


def main():
    if PIN:
        os.sched_setaffinity(0, {0})  # this driver, the load generator and every hop it starts
        print(f"PIN=1: {pin_milvus()} Milvus processes on core 1, the rest on core 0")
    client = MilvusClient(uri=f"http://{shared.MILVUS}")
    shared.prepare_collection(client)
    work = Path(tempfile.mkdtemp(prefix="vdbm-hop-"))
    queries = np.random.default_rng(13).random((shared.QUERIES, shared.DIM), dtype=np.float32)
    query_file = work / "queries.txt"
    np.savetxt(query_file, queries, fmt="%.8g", delimiter=",")
    vdbm, vdbm_target, _ = shared.start_vdbm(work, "hop")
    haproxy, haproxy_target = start_haproxy(work)
    nghttpx, nghttpx_target = start_nghttpx(work)
    # name: (address, Milvus's own Search?, the processes whose CPU is the hop's)
    targets = {
        "direct": (shared.MILVUS, True, []),
        "haproxy": (haproxy_target, True, [haproxy.pid]),
        "nghttpx": (nghttpx_target, True, None),
        "vdbm.v1": (vdbm_target, False, [vdbm.pid]),
        "vdbm pass-through": (vdbm_target, True, [vdbm.pid]),
    }
    try:
        for target, _, _ in targets.values():
            wait_until_answering(target, query_file)
        targets["nghttpx"] = (nghttpx_target, True, process_tree(nghttpx.pid))
        checked = shared.check_identical_hits(queries.tolist(), {"vdbm": vdbm_target, "vdbm pass-through": vdbm_target})
        print(f"identical hits to Milvus for {checked} queries through vdbm.v1 and the pass-through")
        print(f"{ROUNDS} rounds of {DURATION:g} s (after 2 s warm-up) per target at 1 caller, in rotating order; "
              f"load generator: {shared.VDBM} bench")
        one_caller(targets, query_file)
        for concurrency in MANY:
            many_callers(targets, query_file, concurrency)
        if PIN:
            merged_limit(targets, query_file)
    finally:
        for process in (vdbm, haproxy, nghttpx):
            process.terminate()
            process.wait(timeout=30)


def rounds_of(targets, query_file, concurrency, rounds):
    names = list(targets)
    runs = {name: [] for name in names}
    for round_number in range(rounds):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            address, milvus, pids = targets[name]
            runs[name].append(measure(address, concurrency, query_file, pids, milvus))
    return runs


def one_caller(targets, query_file):
    runs = rounds_of(targets, query_file, 1, ROUNDS)
    direct = [r["p50_ms"] for r in runs["direct"]]
    print("\none caller: p50 per round (ms), added p50 (median of paired differences with direct), hop CPU per call")
    print(f"  {'target':<18} {'p50 per round':<40} {'added p50':>10} {'CPU/call':>9}")
    for name, rounds in runs.items():
        p50 = [r["p50_ms"] for r in rounds]
        added = statistics.median(h - d for h, d in zip(p50, direct))
        cpu = statistics.median(r["hop_cpu_us"] for r in rounds)
        print(f"  {name:<18} {', '.join(f'{p:.3f}' for p in p50):<40} "
              f"{'' if name == 'direct' else f'{added:+.3f} ms':>10} {'' if name == 'direct' else f'{cpu:.0f} µs':>9}")


def many_callers(targets, query_file, concurrency):
    runs = rounds_of(targets, query_file, concurrency, MANY_ROUNDS)
    direct = statistics.median(r["vectors_per_second"] for r in runs["direct"])
    print(f"\n{concurrency} callers ({MANY_ROUNDS} rounds, medians): searches/s, × direct, p99, hop CPU per search")
    for name, rounds in runs.items():
        rate = statistics.median(r["vectors_per_second"] for r in rounds)
        p99 = statistics.median(r["p99_ms"] for r in rounds)
        cpu = statistics.median(r["hop_cpu_us"] for r in rounds)
        print(f"  {name:<18} {rate:>8.0f}/s {rate / direct:>6.2f}x  p99 {p99:>7.2f} ms"
              + ("" if name == "direct" else f"  {cpu:>6.1f} µs/search"))
    return runs


def merged_limit(targets, query_file):
    """Milvus alone, sent the vectors already merged, beside vdbm.v1's merged searches at 32 callers."""
    shapes = {"nq 32 x 1 in flight": (32, (1, 1)), "nq 16 x 2 in flight": (16, (1, 2))}
    limits = {}
    for shape, (nq, layout) in shapes.items():
        result = shared.bench(shared.MILVUS, 32, query_file, milvus=True, vectors_per_call=nq, layout=layout,
                              duration=DURATION)
        limits[shape] = result["vectors_per_second"]
    address, milvus, pids = targets["vdbm.v1"]
    merged = [measure(address, 32, query_file, pids, milvus)["vectors_per_second"] for _ in range(MANY_ROUNDS)]
    best = max(limits.values())
    print("\nMilvus alone, the same vectors merged (vectors/s): "
          + ", ".join(f"{shape} {rate:.0f}" for shape, rate in limits.items()))
    print(f"vdbm.v1 at 32 callers: {statistics.median(merged):.0f}/s = {statistics.median(merged) / best:.0%} of the best shape")


if __name__ == "__main__":
    main()
