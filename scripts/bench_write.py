"""Driver of scripts/bench-write (a benchmark, not a test): concurrent writers inserting 1 or 8
rows per call (128-d vectors, an auto-id collection with no index) straight to Milvus 2.3.5,
through vdbm with write coalescing on (the shipped configuration) and through vdbm with it off.
Writers are `vdbm bench --insert` streams (connections x streams as in bench-search). Prints
rows/s, p50 and p99 per run, each target's rows/s over direct Milvus's, and the mean rows per
Milvus write vdbm sent (its admin port's vdbm_write_batch_rows)."""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from pymilvus import DataType, MilvusClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_search as shared  # noqa: E402  (daemons, metrics scrape, CPU from /proc)

NAME, DIM = "vdbm_bench_writes", 128
DURATION = float(os.environ.get("DURATION", "5"))
WRITERS = [int(w) for w in os.environ.get("WRITERS", "1,8,32,128").split(",")]
ROWS = [int(r) for r in os.environ.get("ROWS", "1,8").split(",")]
# Extra settings for the coalescing daemon, e.g. "writes.max_inflight_batches=1" (space-separated).
SETTINGS = os.environ.get("SETTINGS", "").split()
LAYOUT = {1: (1, 1), 8: (2, 4), 32: (4, 8), 64: (4, 16), 128: (4, 32)}


def prepare(client):
    if client.has_collection(NAME):
        client.drop_collection(NAME)
    schema = client.create_schema(auto_id=True)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    client.create_collection(NAME, schema=schema)


def write_counters(admin):
    samples, _ = shared.scrape(shared.SimpleNamespace(admin_port=admin))
    return (samples.get(("vdbm_write_batch_rows_sum", ()), 0.0), samples.get(("vdbm_write_batch_rows_count", ()), 0.0))


def run(address, writers, rows, vector_file, milvus=False, admin=None, pid=None):
    connections, streams = LAYOUT.get(writers, (4, max(1, writers // 4)))
    command = [shared.VDBM, "bench", "--insert", "--address", address, "--collection", NAME, "--vectors-file", str(vector_file),
               "--vectors-per-call", str(rows), "--connections", str(connections), "--streams", str(streams),
               "--duration", str(DURATION), "--warmup", "1", "--json"]
    if milvus:
        command.append("--milvus")
    before = (write_counters(admin) if admin else None, shared.cpu_seconds([pid] if pid else []))
    result = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
    if admin:
        rows_sent, writes = (b - a for a, b in zip(before[0], write_counters(admin)))
        result["rows_per_write"] = rows_sent / writes if writes else 0.0
    result["cpu_us_per_call"] = ((shared.cpu_seconds([pid]) - before[1]) / (result["calls"] * (DURATION + 1) / DURATION) * 1e6
                                 if pid else 0.0)
    bad = {k: v for k, v in result["outcomes"].items() if k != "OK"}
    if bad:
        result["errors"] = bad
    return result


def main():
    client = MilvusClient(uri=f"http://{shared.MILVUS}")
    prepare(client)
    work = Path(tempfile.mkdtemp(prefix="vdbm-write-"))
    vectors = np.random.default_rng(17).random((10_000, DIM), dtype=np.float32)
    vector_file = work / "vectors.txt"
    np.savetxt(vector_file, vectors, fmt="%.8g", delimiter=",")
    on, on_target, on_admin = shared.start_vdbm(work, "coalescing", *SETTINGS)
    off, off_target, _ = shared.start_vdbm(work, "plain", "writes.coalescing=false")
    print(f"{DURATION:g} s per run after 1 s of warm-up; load generator: {shared.VDBM} bench --insert"
          + (f"; coalescing daemon with {' '.join(SETTINGS)}" if SETTINGS else ""))
    print(f"{'writers':>7} {'rows/call':>9}  {'target':<22} {'rows/s':>9} {'x direct':>8} {'p50 ms':>8} {'p99 ms':>8}"
          f"  {'vdbm µs/call':>12} {'rows/write':>10}")
    try:
        for writers in WRITERS:
            for rows in ROWS:
                results = {
                    "Milvus direct": run(shared.MILVUS, writers, rows, vector_file, milvus=True),
                    "vdbm, coalescing": run(on_target, writers, rows, vector_file, admin=on_admin, pid=on.pid),
                    "vdbm, no coalescing": run(off_target, writers, rows, vector_file, pid=off.pid),
                }
                direct = results["Milvus direct"]["vectors_per_second"]
                for label, result in results.items():
                    rate = result["vectors_per_second"]
                    per_write = f"{result['rows_per_write']:.1f}" if "rows_per_write" in result else ""
                    cpu = f"{result['cpu_us_per_call']:.0f}" if result["cpu_us_per_call"] else ""
                    print(f"{writers:>7} {rows:>9}  {label:<22} {rate:>9.0f} {rate / direct:>7.2f}x {result['p50_ms']:>8.2f} "
                          f"{result['p99_ms']:>8.2f}  {cpu:>12} {per_write:>10}"
                          + (f"  errors: {result['errors']}" if "errors" in result else ""))
    finally:
        for process in (on, off):
            process.terminate()
            process.wait(timeout=30)
        client.drop_collection(NAME)


if __name__ == "__main__":
    main()
