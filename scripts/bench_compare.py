"""Driver of scripts/bench-compare (a benchmark, not a test): two vdbm builds side by side in
front of the Milvus and collection of scripts/bench-search, measured in alternating rounds (base
then head, head then base, ...) so that Milvus's drift, which moves one run by up to ±25% on the
2-core machine, falls on both builds alike. Each build is first checked to answer the same hits
as Milvus (256 queries, 32 concurrent callers). Prints every round's QPS and vdbm CPU per search
for each concurrency and kind of call (vdbm.v1 Search; Milvus's own Search through the
pass-through), then the medians and head's change."""
import os
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
from pymilvus import MilvusClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_search as shared  # noqa: E402  (collection, daemons, load runs, hit checks)

BUILDS = {"base": os.environ["BASE_BIN"], "head": os.environ["HEAD_BIN"]}
ROUNDS = int(os.environ.get("ROUNDS", "6"))
DURATION = float(os.environ.get("DURATION", "10"))
CONCURRENCIES = [int(c) for c in os.environ.get("CONCURRENCIES", "1,32").split(",")]
KINDS = os.environ.get("KINDS", "v1,passthrough").split(",")
# Settings for one build's daemon (`key=value`, space-separated): the same build with a setting
# on and off, e.g. HEAD_SET="tracing.otlp_endpoint=127.0.0.1:4317 tracing.sample_ratio=0.01".
SETTINGS = {"base": os.environ.get("BASE_SET", "").split(), "head": os.environ.get("HEAD_SET", "").split()}


def start(work, label, binary):
    """The daemon of one build, with the configuration its own tree ships (coalescing on): a
    build under .build-compare/<commit>/ reads that tree's Config/vdbm.yaml, whose keys it knows."""
    shared.VDBM = binary
    tree = next((parent for parent in Path(binary).parents if parent.parent.name == ".build-compare"), shared.ROOT)
    try:
        return shared.start_vdbm(work, label, *SETTINGS[label], config=tree / "Config" / "vdbm.yaml")
    finally:
        shared.VDBM = BUILDS["head"]  # the load generator is always head's `vdbm bench`


def main():
    client = MilvusClient(uri=f"http://{shared.MILVUS}")
    shared.prepare_collection(client)
    work = Path(tempfile.mkdtemp(prefix="vdbm-compare-"))
    queries = np.random.default_rng(11).random((shared.QUERIES, shared.DIM), dtype=np.float32)
    query_file = work / "queries.txt"
    np.savetxt(query_file, queries, fmt="%.8g", delimiter=",")
    daemons = {label: start(work, label, binary) for label, binary in BUILDS.items()}
    try:
        targets = {}
        for label, (_, target, _) in daemons.items():
            targets[label] = target
            targets[f"{label} pass-through"] = target
        checked = shared.check_identical_hits(queries.tolist(), targets)
        print(f"identical hits to Milvus for {checked} queries: " + ", ".join(targets))
        print(f"{ROUNDS} alternating rounds of {DURATION:g} s (after 2 s warm-up) per concurrency and kind; "
              f"load generator: {BUILDS['head']} bench")
        for concurrency in CONCURRENCIES:
            for kind in KINDS:
                runs = {label: [] for label in BUILDS}
                for round_number in range(ROUNDS):
                    order = list(BUILDS) if round_number % 2 == 0 else list(reversed(BUILDS))
                    for label in order:
                        process, target, admin = daemons[label]
                        runs[label].append(shared.bench(target, concurrency, query_file, vdbm_pid=process.pid,
                                                        milvus=kind == "passthrough", admin=admin, duration=DURATION))
                report(concurrency, kind, runs)
    finally:
        for process, _, _ in daemons.values():
            process.terminate()
            process.wait(timeout=30)


def report(concurrency, kind, runs):
    print(f"\nconcurrency {concurrency}, {'pass-through (Milvus Search)' if kind == 'passthrough' else 'vdbm.v1 Search'}:")
    medians = {}
    for label, rounds in runs.items():
        qps = [r["qps"] for r in rounds]
        cpu = [r["cpu_us_per_search"]["vdbm"] for r in rounds]
        p50 = [r["p50_ms"] for r in rounds]
        medians[label] = (statistics.median(qps), statistics.median(cpu), statistics.median(p50))
        print(f"  {label}: QPS " + ", ".join(f"{q:.0f}" for q in qps) + " | vdbm µs/search "
              + ", ".join(f"{c:.1f}" for c in cpu) + " | p50 ms " + ", ".join(f"{p:.2f}" for p in p50))
    (bq, bc, bp), (hq, hc, hp) = medians["base"], medians["head"]
    print(f"  median: base {bq:.0f} QPS, {bc:.1f} µs, p50 {bp:.2f} ms; head {hq:.0f} QPS, {hc:.1f} µs, p50 {hp:.2f} ms; "
          f"head/base QPS {hq / bq:.3f}, CPU {hc / bc:.3f}")


if __name__ == "__main__":
    main()
