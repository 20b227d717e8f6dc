"""Driver of scripts/bench-search: prepares the collection and the pre-encoded requests, checks
that both sides answer the same hits, runs h2load against Milvus and vdbm, runs pymilvus, and
prints one table."""
import json
from collections import Counter
import re
import os
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import grpc
import numpy as np
from pymilvus import DataType, MilvusClient
from pymilvus.grpc_gen import common_pb2, milvus_pb2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Tests" / "e2e"))
from vdbm_api import data_pb2, pb2  # noqa: E402  (stubs generated from Protos/)

MILVUS = "127.0.0.1:19530"
NAME, ROWS, DIM, TOPK, EF = "vdbm_bench_20k", 20_000, 128, 10, 64
DURATION = int(os.environ.get("DURATION", "15"))
ROUNDS = int(os.environ.get("ROUNDS", "1"))
MILVUS_PATH = "/milvus.proto.milvus.MilvusService/Search"
VDBM_PATH = "/vdbm.v1.VectorDB/Search"


def wait_until_loaded(client):
    # A new collection is searched brute-force until its index is built, and a Milvus restarted
    # on its data reloads collections by itself (searches see part of the data until it is done):
    # measure neither.
    for _ in range(600):
        index = client.describe_index(NAME, client.list_indexes(NAME)[0])
        built = index.get("state") == "Finished" and index.get("pending_index_rows", 0) == 0
        if built and "Loaded" in str(client.get_load_state(NAME)["state"]):
            return
        time.sleep(0.5)
    raise RuntimeError(f"{NAME} is not indexed and loaded after 5 minutes")


def prepare_collection(client):
    if client.has_collection(NAME) and client.get_collection_stats(NAME)["row_count"] == ROWS:
        client.load_collection(NAME)
        wait_until_loaded(client)
        return
    if client.has_collection(NAME):
        client.drop_collection(NAME)
    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    index = client.prepare_index_params()
    index.add_index("vector", index_type="HNSW", metric_type="L2", params={"M": 16, "efConstruction": 200})
    client.create_collection(NAME, schema=schema, index_params=index)
    vectors = np.random.default_rng(7).random((ROWS, DIM), dtype=np.float32)
    for start in range(0, ROWS, 5000):
        client.insert(NAME, [{"id": i, "vector": vectors[i].tolist()} for i in range(start, start + 5000)])
    client.flush(NAME)
    client.load_collection(NAME)
    wait_until_loaded(client)


def framed(message: bytes) -> bytes:
    return b"\x00" + struct.pack(">I", len(message)) + message


def requests(query):
    vdbm = pb2.SearchRequest(collection=NAME, vectors=data_pb2.FloatVectors(dimension=DIM, values=query), limit=TOPK,
                             params=[data_pb2.Param(key="ef", value=EF)]).SerializeToString()
    # The same search as vdbm's manager sends it (no metric_type: Milvus uses the index's own).
    group = common_pb2.PlaceholderGroup(placeholders=[common_pb2.PlaceholderValue(
        tag="$0", type=101, values=[np.asarray(query, dtype="<f4").tobytes()])])
    params = {"anns_field": "vector", "topk": str(TOPK), "params": json.dumps({"ef": EF}), "offset": "0", "round_decimal": "-1"}
    milvus = milvus_pb2.SearchRequest(
        collection_name=NAME, dsl_type=1, placeholder_group=group.SerializeToString(), nq=1, use_default_consistency=True,
        search_params=[common_pb2.KeyValuePair(key=k, value=v) for k, v in params.items()]).SerializeToString()
    return vdbm, milvus


def raw_call(target, path, body):
    with grpc.insecure_channel(target) as channel:
        return channel.unary_unary(path, request_serializer=lambda b: b, response_deserializer=lambda b: b)(body, timeout=10)


def same_hits(vdbm_target, vdbm_body, milvus_body):
    mine = pb2.SearchResponse.FromString(raw_call(vdbm_target, VDBM_PATH, vdbm_body)).results[0]
    theirs = milvus_pb2.SearchResults.FromString(raw_call(MILVUS, MILVUS_PATH, milvus_body))
    assert theirs.status.code == 0 and theirs.status.error_code == 0, theirs.status
    assert list(mine.ids.int_ids) == list(theirs.results.ids.int_id.data), "vdbm and Milvus disagree"
    assert len(mine.ids.int_ids) == TOPK
    return list(mine.ids.int_ids)


def rpc_count(path, log):
    log.flush()
    return sum(1 for line in open(path) if '"msg":"rpc"' in line)


def h2load(target, path, body_file, concurrency):
    connections, streams = (1, 1) if concurrency == 1 else (4, concurrency // 4)
    with tempfile.NamedTemporaryFile(suffix=".tsv") as log:
        out = subprocess.run(
            ["h2load", "-D", str(DURATION), "--warm-up-time", "2", "-c", str(connections), "-m", str(streams), "-t", "1",
             "-H", "content-type: application/grpc", "-H", "te: trailers", "-d", body_file, "--log-file", log.name,
             f"http://{target}{path}"], capture_output=True, text=True, check=True).stdout
        latencies = sorted(int(line.split()[2]) for line in open(log.name) if line.strip())
    failed = int(re.search(r"(\d+) failed", out).group(1))
    qps = next(float(line.split()[3]) for line in out.splitlines() if line.startswith("finished in"))
    return qps, pct(latencies, 50) / 1000, pct(latencies, 99) / 1000, failed


def cpu_seconds(pid):
    """User + system CPU time of a process so far (/proc/<pid>/stat, clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values, p):
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def pymilvus_load(client, query, concurrency):
    latencies, stop = [], time.monotonic() + DURATION
    lock = threading.Lock()

    def worker():
        mine = []
        while time.monotonic() < stop:
            started = time.perf_counter()
            client.search(NAME, data=[query], limit=TOPK, search_params={"params": {"ef": EF}})
            mine.append((time.perf_counter() - started) * 1e6)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    return len(latencies) / (time.monotonic() - started), pct(latencies, 50) / 1000, pct(latencies, 99) / 1000, 0


def main():
    client = MilvusClient(uri=f"http://{MILVUS}")
    prepare_collection(client)
    query = np.random.default_rng(99).random(DIM, dtype=np.float32).tolist()
    vdbm_body, milvus_body = requests(query)
    work = Path(tempfile.mkdtemp(prefix="vdbm-bench-"))
    (work / "vdbm.bin").write_bytes(framed(vdbm_body))
    (work / "milvus.bin").write_bytes(framed(milvus_body))

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = open(work / "vdbm.log", "wb")
    vdbm = subprocess.Popen([os.environ["E2E_VDBM_BIN"], "serve", "--config", str(ROOT / "Config" / "vdbm.yaml"), "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    target = f"127.0.0.1:{port}"
    try:
        # Until vdbm answers and both sides agree three times in a row (right after a load,
        # Milvus may still be settling which segments serve the search).
        agreed, problem = 0, None
        for _ in range(300):
            try:
                ids = same_hits(target, vdbm_body, milvus_body)
                agreed += 1
                if agreed == 3:
                    break
            except (grpc.RpcError, AssertionError) as error:
                agreed, problem = 0, error
            time.sleep(0.1)
        else:
            raise RuntimeError(f"vdbm and Milvus never agreed: {problem}")
        print(f"collection {NAME}: {ROWS} x {DIM}-d, HNSW M=16 efConstruction=200, top {TOPK}, ef {EF}; "
              f"vdbm and Milvus return the same hits {ids[:4]}...")
        print(f"{os.cpu_count()} cores shared by Milvus, vdbm and the load generator; {DURATION} s per run after 2 s warm-up")
        rows, cpu_notes = [], []
        for concurrency in (1, 32):
            for round_ in range(ROUNDS):
                direct = h2load(MILVUS, MILVUS_PATH, str(work / "milvus.bin"), concurrency)
                cpu_before, calls_before = cpu_seconds(vdbm.pid), rpc_count(work / "vdbm.log", log)
                through = h2load(target, VDBM_PATH, str(work / "vdbm.bin"), concurrency)
                cpu = cpu_seconds(vdbm.pid) - cpu_before
                calls = rpc_count(work / "vdbm.log", log) - calls_before
                rows.append((concurrency, direct, through))
                cpu_notes.append(f"concurrency {concurrency}: vdbm used {cpu:.2f} CPU-s for {calls} calls "
                                 f"= {cpu / max(calls, 1) * 1e6:.0f} us of CPU per call")
            py = pymilvus_load(client, query, concurrency)
            rows.append((concurrency, None, py))
        print(f"{'concurrency':>11} | {'Milvus direct (h2load)':>30} | {'through vdbm (h2load)':>30} | {'QPS ratio':>9} | {'p50 +ms':>7}")
        for concurrency, direct, through in rows:
            if direct is None:
                print(f"{concurrency:>11} | {'pymilvus MilvusClient.search':>30} | "
                      f"{through[0]:8.0f} QPS p50 {through[1]:6.2f} p99 {through[2]:6.2f} |")
                continue
            print(f"{concurrency:>11} | {direct[0]:8.0f} QPS p50 {direct[1]:6.2f} p99 {direct[2]:6.2f} | "
                  f"{through[0]:8.0f} QPS p50 {through[1]:6.2f} p99 {through[2]:6.2f} | {through[0] / direct[0]:9.3f} | "
                  f"{through[1] - direct[1]:+7.3f}")
            if direct[3] or through[3]:
                print(f"            failed requests: direct {direct[3]}, vdbm {through[3]}")
        for note in cpu_notes:
            print(note)
        # h2load counts HTTP status only: vdbm's own count of gRPC statuses, from its access log
        # (a timed h2load run ends by cancelling the calls still in flight: CANCELLED).
        log.flush()
        statuses = Counter(json.loads(line).get("status") for line in open(work / "vdbm.log") if '"msg":"rpc"' in line)
        print(f"vdbm's gRPC statuses: {dict(statuses)}")
    finally:
        vdbm.terminate()
        vdbm.wait(timeout=30)


if __name__ == "__main__":
    main()
