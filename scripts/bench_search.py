"""Driver of scripts/bench-search (a benchmark, not a test): one collection (20k random 128-d
vectors, HNSW M=16 efConstruction=200, top 10, ef 64) searched with 10,000 distinct query vectors
by `vdbm bench` against Milvus directly, against vdbm with search coalescing on (the shipped
configuration) and against vdbm with coalescing off, at concurrency 1, 8, 32 and 128; Milvus's own
`Search` sent to vdbm's pass-through (what an unmodified SDK does, coalesced too); and pymilvus
against Milvus and through vdbm at the same concurrencies. Identical hits are checked first. Prints one
table, the CPU each process spent per search (from /proc), what limits coalescing (vectors per merged
search, how busy the cores were, and Milvus alone sent the batch shapes 32 callers can form), the
latency vdbm adds to one caller from paired rounds, and writes the numbers as JSON to bench-results/."""
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import grpc
import numpy as np
from pymilvus import DataType, MilvusClient
from pymilvus.grpc_gen import common_pb2, milvus_pb2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Tests" / "e2e"))
from conftest import scrape  # noqa: E402  (the e2e tests' /metrics reader)
from vdbm_api import data_pb2, pb2  # noqa: E402  (stubs generated from Protos/)

MILVUS = "127.0.0.1:19530"
NAME, ROWS, DIM, TOPK, EF = "vdbm_bench_20k", 20_000, 128, 10, 64
QUERIES = 10_000
DURATION = float(os.environ.get("DURATION", "10"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
# One caller's latency drifts with Milvus by more than the hop vdbm adds, so concurrency 1 runs
# more and shorter rounds, and the hop is read as the median of each round's difference to the
# direct run beside it (paired), not as the difference of two medians.
C1_ROUNDS = int(os.environ.get("C1_ROUNDS", "9"))
C1_DURATION = float(os.environ.get("C1_DURATION", "3"))
CONCURRENCIES = [int(c) for c in os.environ.get("CONCURRENCIES", "1,8,32,128").split(",")]
# connections x streams for each concurrency (the same for every target)
LAYOUT = {1: (1, 1), 8: (2, 4), 32: (4, 8), 128: (4, 32)}
VDBM = os.environ["E2E_VDBM_BIN"]


def wait_until_loaded(client):
    # A new collection is searched brute-force until its index is built, and a Milvus restarted
    # on its data reloads collections by itself: measure neither.
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


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_vdbm(work, label, *settings, config=ROOT / "Config" / "vdbm.yaml"):
    """The daemon, its gRPC address and its admin port (for the coalescer's batch counters)."""
    port, admin = free_port(), free_port()
    log = open(work / f"vdbm-{label}.log", "wb")
    process = subprocess.Popen([VDBM, "serve", "--config", str(config), "--port", str(port),
                                "--set", f"admin.port={admin}",
                                *[arg for setting in settings for arg in ("--set", setting)]],
                               stdout=log, stderr=subprocess.STDOUT)
    target = f"127.0.0.1:{port}"
    for _ in range(300):
        try:
            with grpc.insecure_channel(target) as channel:
                channel.unary_unary("/vdbm.v1.VectorDB/ListCollections", request_serializer=lambda b: b,
                                    response_deserializer=lambda b: b)(b"", timeout=2)
            return process, target, admin
        except grpc.RpcError:
            time.sleep(0.1)
    raise RuntimeError(f"vdbm ({label}) did not start: {(work / f'vdbm-{label}.log').read_text()[-2000:]}")


# --- identical hits ---------------------------------------------------------------------------

def milvus_ids(channel, query):
    group = common_pb2.PlaceholderGroup(placeholders=[common_pb2.PlaceholderValue(
        tag="$0", type=101, values=[np.asarray(query, dtype="<f4").tobytes()])])
    params = {"anns_field": "vector", "topk": str(TOPK), "params": json.dumps({"ef": EF}), "offset": "0", "round_decimal": "-1"}
    request = milvus_pb2.SearchRequest(
        collection_name=NAME, dsl_type=1, placeholder_group=group.SerializeToString(), nq=1, use_default_consistency=True,
        search_params=[common_pb2.KeyValuePair(key=k, value=v) for k, v in params.items()])
    call = channel.unary_unary("/milvus.proto.milvus.MilvusService/Search", request_serializer=lambda m: m.SerializeToString(),
                               response_deserializer=milvus_pb2.SearchResults.FromString)
    reply = call(request, timeout=30)
    assert reply.status.code == 0 and reply.status.error_code == 0, reply.status
    return list(reply.results.ids.int_id.data)


def vdbm_ids(channel, query):
    call = channel.unary_unary("/vdbm.v1.VectorDB/Search", request_serializer=lambda m: m.SerializeToString(),
                               response_deserializer=pb2.SearchResponse.FromString)
    reply = call(pb2.SearchRequest(collection=NAME, vectors=data_pb2.FloatVectors(dimension=DIM, values=query), limit=TOPK,
                                   params=[data_pb2.Param(key="ef", value=EF)]), timeout=30)
    return list(reply.results[0].ids.int_ids)


def check_identical_hits(queries, targets, count=256):
    """Milvus's own answers first, repeated until two passes agree (they move for a few seconds
    after a load), then each vdbm with 32 concurrent callers (so coalescing merges them), through
    vdbm.v1 and, for a label ending in "pass-through", with Milvus's own Search."""
    probe = queries[:count]
    with grpc.insecure_channel(MILVUS) as channel:
        previous = None
        for _ in range(30):
            current = [milvus_ids(channel, q) for q in probe]
            if current == previous:
                break
            previous = current
            time.sleep(1)
        else:
            raise RuntimeError("Milvus's own answers did not settle")
    for label, target in targets.items():
        with grpc.insecure_channel(target) as channel:
            answers = [None] * count

            ask = milvus_ids if label.endswith("pass-through") else vdbm_ids

            def worker(offset):
                for i in range(offset, count, 32):
                    answers[i] = ask(channel, probe[i])

            threads = [threading.Thread(target=worker, args=(k,)) for k in range(32)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        differing = [i for i in range(count) if answers[i] != current[i]]
        assert not differing, f"vdbm ({label}) and Milvus disagree on {len(differing)} of {count} queries, e.g. #{differing[0]}"
    return count


# --- load ---------------------------------------------------------------------------------------

def cpu_seconds(pids):
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except FileNotFoundError:
            pass
    return total


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def milvus_pids():
    found = subprocess.run(["pgrep", "-f", "milvus run standalone"], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in found]


def batch_counters(admin):
    """(query vectors, Milvus searches) the daemon's coalescers have sent so far."""
    samples, _ = scrape(SimpleNamespace(admin_port=admin))
    return (samples.get(("vdbm_search_batch_vectors_sum", ()), 0.0),
            samples.get(("vdbm_search_batch_vectors_count", ()), 0.0))


def bench(address, concurrency, query_file, vdbm_pid=None, milvus=False, admin=None, duration=DURATION,
          vectors_per_call=1, layout=None, title=None):
    """One `vdbm bench` run and the CPU each process spent per query vector (from /proc), with the
    mean number of vectors in the Milvus searches the daemon sent when `admin` names its port.
    With `title`, the run's chart section (`vdbm bench --html`) comes back as result["chart"]."""
    connections, streams = layout or LAYOUT[concurrency]
    command = [VDBM, "bench", "--address", address, "--collection", NAME, "--vectors-file", str(query_file),
               "--limit", str(TOPK), "--param", f"ef={EF}", "--connections", str(connections), "--streams", str(streams),
               "--vectors-per-call", str(vectors_per_call), "--duration", str(duration), "--warmup", "2", "--json"]
    if milvus:
        command.append("--milvus")
    chart = Path(str(query_file) + f".{os.getpid()}.{time.monotonic_ns()}.html")
    if title:
        command += ["--html", str(chart), "--title", title]
    own = [vdbm_pid] if vdbm_pid else []
    batches_before = batch_counters(admin) if admin else None
    before = (cpu_seconds(own), cpu_seconds(milvus_pids()), children_cpu())
    result = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
    after = (cpu_seconds(own), cpu_seconds(milvus_pids()), children_cpu())
    vectors = result["calls"] * vectors_per_call * (duration + 2) / duration  # the warmup's calls spent CPU too
    result["cpu_us_per_search"] = {name: (b - a) / vectors * 1e6 for name, a, b in
                                   zip(("vdbm", "milvus", "bench"), before, after)}
    if admin:
        sent, searches = (b - a for a, b in zip(batches_before, batch_counters(admin)))
        result["mean_batch_vectors"] = sent / searches if searches else 0.0
    if title:
        result["chart"] = chart.read_text()
        chart.unlink()
    return result


def chart_page(pages):
    """One page of the sections of several `vdbm bench --html` pages (the first one's frame)."""
    start, end = "<!-- vdbm-bench-section -->", "<!-- /vdbm-bench-section -->"
    sections = [page[page.index(start):page.index(end) + len(end)] for page in pages]
    first = pages[0]
    return first[:first.index(start)] + "\n".join(sections) + first[first.index(end) + len(end):]


def machine_use(result):
    """Share of the machine's cores the three processes kept busy, and the rate at which this
    CPU per search would fill every core: what is left, and the most any scheduling could give."""
    per_search = sum(result["cpu_us_per_search"].values())
    return result["vectors_per_second"] * per_search / 1e6 / os.cpu_count(), os.cpu_count() * 1e6 / per_search


def milvus_alone(query_file):
    """Milvus called directly with the batch shapes the coalescer can form from 32 callers (32 query
    vectors in flight: one search of 32, two of 16, four of 8), with the whole machine to itself
    apart from the load generator: the ceiling of merged searches at concurrency 32."""
    shapes = {"32 x 1": (32, (1, 1)), "16 x 2": (16, (1, 2)), "8 x 4": (8, (1, 4))}
    return {shape: bench(MILVUS, 32, query_file, milvus=True, vectors_per_call=nq, layout=layout)
            for shape, (nq, layout) in shapes.items()}


def pymilvus_run(client, queries, concurrency):
    latencies, stop = [], time.monotonic() + DURATION
    lock = threading.Lock()
    counter = iter(range(10**9))

    def worker():
        mine = []
        while time.monotonic() < stop:
            with lock:
                index = next(counter)
            started = time.perf_counter()
            client.search(NAME, data=[queries[index % len(queries)]], limit=TOPK, search_params={"params": {"ef": EF}})
            mine.append((time.perf_counter() - started) * 1e3)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    pct = lambda p: latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))]  # noqa: E731
    return {"qps": len(latencies) / (time.monotonic() - started), "p50_ms": pct(50), "p99_ms": pct(99)}


def median_round(runs):
    return sorted(runs, key=lambda run: run["qps"])[len(runs) // 2]


def main():
    client = MilvusClient(uri=f"http://{MILVUS}")
    prepare_collection(client)
    work = Path(tempfile.mkdtemp(prefix="vdbm-bench-"))
    queries = np.random.default_rng(11).random((QUERIES, DIM), dtype=np.float32)
    query_file = work / "queries.txt"
    np.savetxt(query_file, queries, fmt="%.8g", delimiter=",")
    queries = queries.tolist()

    on, on_target, on_admin = start_vdbm(work, "coalescing")
    off, off_target, _ = start_vdbm(work, "plain", "search.coalescing=false")
    through = MilvusClient(uri=f"http://{on_target}")
    try:
        checked = check_identical_hits(queries, {"coalescing": on_target, "plain": off_target,
                                                 "coalescing pass-through": on_target})
        print(f"collection {NAME}: {ROWS} x {DIM}-d, HNSW M=16 efConstruction=200, top {TOPK}, ef {EF}, "
              f"{QUERIES} distinct query vectors")
        print(f"identical hits: Milvus direct, vdbm with coalescing (32 concurrent callers; vdbm.v1 and the Milvus "
              f"pass-through) and vdbm without, for {checked} distinct query vectors")
        print(f"{os.cpu_count()} cores shared by Milvus, vdbm and the load generator; {DURATION:g} s per run after 2 s "
              f"warm-up; median of {ROUNDS} rounds (by QPS); concurrency 1: {C1_ROUNDS} rounds of {C1_DURATION:g} s")
        results = {}
        for concurrency in CONCURRENCIES:
            rounds = {"direct": [], "coalescing": [], "plain": [], "passthrough": []}
            count, duration = (C1_ROUNDS, C1_DURATION) if concurrency == 1 else (ROUNDS, DURATION)
            for _ in range(count):
                def titled(label):
                    return f"{label}, concurrency {concurrency}"
                rounds["direct"].append(bench(MILVUS, concurrency, query_file, milvus=True, duration=duration,
                                              title=titled("Milvus direct")))
                rounds["coalescing"].append(bench(on_target, concurrency, query_file, vdbm_pid=on.pid, admin=on_admin,
                                                  duration=duration, title=titled("vdbm.v1, coalescing")))
                rounds["plain"].append(bench(off_target, concurrency, query_file, vdbm_pid=off.pid, duration=duration,
                                             title=titled("vdbm.v1, no coalescing")))
                rounds["passthrough"].append(bench(on_target, concurrency, query_file, vdbm_pid=on.pid, milvus=True,
                                                   admin=on_admin, duration=duration,
                                                   title=titled("Milvus pass-through, coalescing")))
            results[concurrency] = {label: median_round(runs) for label, runs in rounds.items()}
            results[concurrency]["all_rounds_qps"] = {label: [round(r["qps"]) for r in runs] for label, runs in rounds.items()}
            if concurrency == 1:
                results[concurrency]["p50_added_ms"] = {
                    label: statistics.median(r["p50_ms"] - d["p50_ms"] for r, d in zip(runs, rounds["direct"]))
                    for label, runs in rounds.items() if label != "direct"}
            results[concurrency]["pymilvus"] = pymilvus_run(client, queries, concurrency)
            results[concurrency]["pymilvus_via_vdbm"] = pymilvus_run(through, queries, concurrency)
        alone = milvus_alone(query_file)
        report(results, alone)
        out = ROOT / "bench-results"
        out.mkdir(exist_ok=True)
        path = out / f"search-{time.strftime('%Y%m%d-%H%M%S')}.json"
        # The median round of each target, charted: latency by percentile and throughput over time.
        charts = [result.pop("chart") for per_concurrency in results.values() for result in per_concurrency.values()
                  if isinstance(result, dict) and "chart" in result]
        for per_concurrency in results.values():
            for runs in per_concurrency.values():
                if isinstance(runs, dict):
                    runs.pop("chart", None)
        path.write_text(json.dumps({**{str(k): v for k, v in results.items()}, "milvus_alone_32_in_flight": alone},
                                   indent=2))
        print(f"numbers: {path.relative_to(ROOT)}")
        if charts:
            page = path.with_suffix(".html")
            page.write_text(chart_page(charts))
            print(f"charts: {page.relative_to(ROOT)}")
    finally:
        for process in (on, off):
            process.terminate()
            process.wait(timeout=30)


def report(results, alone):
    cell = lambda r: f"{r['qps']:7.0f} QPS p50 {r['p50_ms']:6.2f} p99 {r['p99_ms']:6.2f}"  # noqa: E731
    print(f"\n| concurrency | Milvus direct (vdbm bench) | vdbm, coalescing | ratio | vdbm, no coalescing | pymilvus |")
    print("| --- | --- | --- | --- | --- | --- |")
    for concurrency, r in results.items():
        ratio = r["coalescing"]["qps"] / r["direct"]["qps"]
        print(f"| {concurrency} | {cell(r['direct'])} | {cell(r['coalescing'])} | {ratio:.2f}x | {cell(r['plain'])} | "
              f"{cell(r['pymilvus'])} |")
    print(f"\nMilvus pass-through (unmodified SDK calls, `vdbm bench --milvus` sent to vdbm; coalescing on):")
    print("| concurrency | Milvus direct (vdbm bench) | through vdbm's pass-through | ratio | pymilvus direct | "
          "pymilvus through vdbm | ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for concurrency, r in results.items():
        ratio = r["passthrough"]["qps"] / r["direct"]["qps"]
        py_ratio = r["pymilvus_via_vdbm"]["qps"] / r["pymilvus"]["qps"]
        print(f"| {concurrency} | {cell(r['direct'])} | {cell(r['passthrough'])} | {ratio:.2f}x | {cell(r['pymilvus'])} | "
              f"{cell(r['pymilvus_via_vdbm'])} | {py_ratio:.2f}x |")
    print("\nQPS of every round:")
    for concurrency, r in results.items():
        print(f"  concurrency {concurrency}: {r['all_rounds_qps']}")
    print("\nCPU per search (microseconds, median round; /proc utime+stime over the run and its warm-up):")
    for concurrency, r in results.items():
        parts = []
        for label in ("direct", "coalescing", "plain", "passthrough"):
            cpu = r[label]["cpu_us_per_search"]
            parts.append(f"{label}: vdbm {cpu['vdbm']:.0f}, Milvus {cpu['milvus']:.0f}, load generator {cpu['bench']:.0f}")
        print(f"  concurrency {concurrency}: " + "; ".join(parts))
    print("\nWhat limits coalescing (median round): mean query vectors per Milvus search; share of the cores the three "
          "processes kept busy; the QPS this CPU per search would give with every core busy:")
    for concurrency, r in results.items():
        parts = []
        for label in ("coalescing", "passthrough"):
            busy, full = machine_use(r[label])
            parts.append(f"{label}: {r[label].get('mean_batch_vectors', 0):.1f} vectors a search, {busy:.0%} busy, "
                         f"{full:,.0f} QPS at 100%")
        print(f"  concurrency {concurrency}: " + "; ".join(parts))
    print("\nMilvus alone, sent the batch shapes 32 callers can form (32 query vectors in flight), whole machine:")
    for shape, r in alone.items():
        cpu = r["cpu_us_per_search"]
        busy, full = machine_use(r)
        print(f"  nq {shape} in flight: {r['vectors_per_second']:7.0f} query vectors/s, p50 {r['p50_ms']:.2f} ms; "
              f"per vector Milvus {cpu['milvus']:.0f} us, load generator {cpu['bench']:.0f} us; {busy:.0%} busy")
    one = results.get(1)
    if one:
        print(f"\nConcurrency 1, p50 added to Milvus direct (median of {C1_ROUNDS} paired rounds): " + ", ".join(
            f"{label} {added:+.2f} ms" for label, added in one["p50_added_ms"].items()))


if __name__ == "__main__":
    main()
