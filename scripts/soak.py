"""Driver of scripts/soak: mixed traffic through one vdbm (release build) for MINUTES, with its
resident memory, open file descriptors and the calls per status printed once a minute.
Traffic: 2 searchers, 1 writer (unique ids), 1 reader (Get and Query), 1 caller that opens a new
connection for every call and closes it, and 1 caller of bad requests (unknown collection, wrong
dimension, undecodable protobuf, unknown method), each of which must get its own status code.
Fails when, after the first minute (warm-up), resident memory grew by 5 MiB or more, the open
file descriptors at the end differ from those after the warm-up, or any call got a status it
should not have."""
import os
import random
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import grpc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Tests" / "e2e"))
from conftest import Daemon  # noqa: E402
from vdbm_api import data_pb2, int64_column, pb2, pb2_grpc, vectors_column  # noqa: E402

MINUTES = float(sys.argv[1]) if len(sys.argv) > 1 else 10
DIM = 16
NAME = f"soak_{int(time.time())}"


def vector(rng):
    return [rng.random() for _ in range(DIM)]


class Tally:
    def __init__(self):
        self.counts = Counter()
        self.unexpected = Counter()
        self.lock = threading.Lock()

    def record(self, kind, code, expected):
        with self.lock:
            self.counts[(kind, code)] += 1
            if code != expected:
                self.unexpected[(kind, code)] += 1


def code_of(call):
    try:
        call()
        return "OK"
    except grpc.RpcError as error:
        return error.code().name


def searcher(stub, stop, tally, seed):
    rng = random.Random(seed)
    while not stop.is_set():
        request = pb2.SearchRequest(collection=NAME, vectors=data_pb2.FloatVectors(dimension=DIM, values=vector(rng)),
                                    limit=10, params=[data_pb2.Param(key="ef", value=32)])
        tally.record("search", code_of(lambda: stub.Search(request, timeout=10)), "OK")


def writer(stub, stop, tally, written):
    rng, sequence = random.Random(5), 0
    while not stop.is_set():
        ids = list(range(1_000_000 + sequence * 20, 1_000_000 + sequence * 20 + 20))
        sequence += 1
        request = pb2.WriteRequest(collection=NAME, columns=[int64_column("id", ids),
                                                              vectors_column("vector", [vector(rng) for _ in ids], DIM)])
        code = code_of(lambda: stub.Insert(request, timeout=10))
        tally.record("insert", code, "OK")
        if code == "OK":
            written.extend(ids)
        time.sleep(0.1)


def reader(stub, stop, tally):
    rng = random.Random(9)
    while not stop.is_set():
        ids = [rng.randrange(1000) for _ in range(10)]
        tally.record("get", code_of(lambda: stub.Get(pb2.GetRequest(collection=NAME, ids=data_pb2.PrimaryKeys(int_ids=ids)),
                                                     timeout=10)), "OK")
        tally.record("query", code_of(lambda: stub.Query(pb2.QueryRequest(collection=NAME, filter="id < 50", limit=20),
                                                         timeout=10)), "OK")
        time.sleep(0.02)


def churner(target, stop, tally):
    """A new connection for every call."""
    while not stop.is_set():
        with grpc.insecure_channel(target) as channel:
            stub = pb2_grpc.VectorDBStub(channel)
            tally.record("new connection", code_of(lambda: stub.ListCollections(pb2.ListCollectionsRequest(), timeout=10)),
                         "OK")
        time.sleep(0.05)


def bad_caller(channel, stop, tally):
    stub = pb2_grpc.VectorDBStub(channel)
    raw = channel.unary_unary("/vdbm.v1.VectorDB/Search", request_serializer=lambda b: b, response_deserializer=lambda b: b)
    unknown = channel.unary_unary("/vdbm.v1.VectorDB/NoSuchMethod", request_serializer=lambda b: b,
                                  response_deserializer=lambda b: b)
    cases = [
        ("unknown collection", lambda: stub.Search(pb2.SearchRequest(
            collection="soak_missing", vectors=data_pb2.FloatVectors(dimension=DIM, values=[0.0] * DIM)), timeout=10),
         "NOT_FOUND"),
        ("wrong dimension", lambda: stub.Search(pb2.SearchRequest(
            collection=NAME, vectors=data_pb2.FloatVectors(dimension=3, values=[0.0] * 3)), timeout=10), "INVALID_ARGUMENT"),
        ("bad protobuf", lambda: raw(b"\x0a\xff\xff\xff\xff\x0f", timeout=10), "INVALID_ARGUMENT"),
        ("unknown method", lambda: unknown(b"", timeout=10), "UNIMPLEMENTED"),
    ]
    while not stop.is_set():
        for kind, call, expected in cases:
            tally.record(kind, code_of(call), expected)
        time.sleep(0.05)


def figures(pid):
    rss = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
               if line.startswith("VmRSS:"))
    return rss / 1024, len(os.listdir(f"/proc/{pid}/fd"))


def main():
    daemon = Daemon("--set", "logging.access_log=false")
    channel = grpc.insecure_channel(daemon.tcp_target)
    stub = pb2_grpc.VectorDBStub(channel)
    stub.CreateCollection(pb2.CreateCollectionRequest(
        collection=NAME, dimension=DIM, metric=data_pb2.METRIC_L2,
        index=pb2.IndexSpec(type="HNSW", params=[data_pb2.Param(key="M", value=8), data_pb2.Param(key="efConstruction", value=32)]),
        load=True), timeout=120)
    rng = random.Random(1)
    stub.Insert(pb2.WriteRequest(collection=NAME, columns=[
        int64_column("id", list(range(1000))), vectors_column("vector", [vector(rng) for _ in range(1000)], DIM)]), timeout=30)

    stop, tally, written = threading.Event(), Tally(), []
    threads = [threading.Thread(target=searcher, args=(stub, stop, tally, seed)) for seed in range(2)]
    threads += [threading.Thread(target=writer, args=(stub, stop, tally, written)),
                threading.Thread(target=reader, args=(stub, stop, tally)),
                threading.Thread(target=churner, args=(daemon.tcp_target, stop, tally)),
                threading.Thread(target=bad_caller, args=(channel, stop, tally))]
    for thread in threads:
        thread.start()

    pid = daemon.process.pid
    samples = []
    began = time.monotonic()
    print(f"soak: {MINUTES:g} minutes of mixed traffic through vdbm (pid {pid}); one line a minute")
    print("minute | RSS MiB | fds | calls so far | unexpected statuses")
    minute = 0
    while minute < MINUTES:
        minute += 1
        time.sleep(max(0.0, began + minute * 60 - time.monotonic()))
        rss, fds = figures(pid)
        samples.append((minute, rss, fds))
        with tally.lock:
            calls, unexpected = sum(tally.counts.values()), sum(tally.unexpected.values())
        print(f"{minute:6d} | {rss:7.1f} | {fds:3d} | {calls:12d} | {unexpected}", flush=True)
    stop.set()
    for thread in threads:
        thread.join()

    print("calls by kind and status: " + ", ".join(f"{k} {c} {n}" for (k, c), n in sorted(tally.counts.items())))
    problems = []
    if tally.unexpected:
        problems.append(f"unexpected statuses: {dict(tally.unexpected)}")
    if daemon.process.poll() is not None:
        problems.append("vdbm exited")
    if len(samples) >= 2:
        (_, rss_warm, fds_warm), (_, rss_end, fds_end) = samples[0], samples[-1]
        growth = rss_end - rss_warm
        print(f"RSS after the warm-up minute {rss_warm:.1f} MiB, at the end {rss_end:.1f} MiB: {growth:+.1f} MiB; "
              f"fds {fds_warm} -> {fds_end}")
        if growth >= 5:
            problems.append(f"resident memory grew by {growth:.1f} MiB after the warm-up")
        if fds_end != fds_warm:
            problems.append(f"open file descriptors moved from {fds_warm} to {fds_end}")
    stub.DropCollection(pb2.CollectionRequest(collection=NAME), timeout=60)
    channel.close()
    daemon.stop()
    if problems:
        print("\nSOAK FAILED:\n  " + "\n  ".join(problems))
        sys.exit(1)
    print("\nsoak: memory and descriptors flat, every status as expected")


if __name__ == "__main__":
    main()
