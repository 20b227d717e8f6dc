"""Search coalescing through a running vdbm with Milvus 2.3.5 behind it, called by 64 concurrent
grpcio callers: each gets its own row first, and exactly what a vdbm with coalescing off answers
the same searches one at a time."""
import math
import threading
import time

import grpc
import pytest

from conftest import Daemon
from vdbm_api import data_pb2, int64_column, pb2, pb2_grpc, vectors_column

DIM, ROWS, CALLERS = 16, 1000, 64


def vector(i):
    return [math.sin(i * 0.37 + k * 1.3) for k in range(DIM)]


@pytest.fixture(scope="module")
def daemons():
    merging = Daemon(env={"VDBM_LOGGING_ACCESS_LOG": "false"})
    alone = Daemon("--set", "search.coalescing=false", env={"VDBM_LOGGING_ACCESS_LOG": "false"})
    yield merging, alone
    for daemon in (merging, alone):
        assert daemon.stop() == 0, daemon.log_text()


@pytest.fixture(scope="module")
def collection(daemons):
    with grpc.insecure_channel(daemons[0].tcp_target) as channel:
        stub = pb2_grpc.VectorDBStub(channel)
        name = f"e2e_coalesce_{int(time.time() * 1000)}"
        stub.CreateCollection(pb2.CreateCollectionRequest(
            collection=name, dimension=DIM, consistency=data_pb2.CONSISTENCY_STRONG,
            index=pb2.IndexSpec(type="HNSW", params=[data_pb2.Param(key="M", value=16),
                                                     data_pb2.Param(key="efConstruction", value=64)])), timeout=120)
        stub.Insert(pb2.WriteRequest(collection=name, columns=[
            int64_column("id", list(range(ROWS))), vectors_column("vector", [vector(i) for i in range(ROWS)], DIM)]), timeout=60)
        stub.Flush(pb2.FlushRequest(collections=[name]), timeout=60)
        stub.LoadCollection(pb2.CollectionRequest(collection=name), timeout=120)
        yield name
        stub.DropCollection(pb2.CollectionRequest(collection=name), timeout=60)


def search(stub, name, ids):
    reply = stub.Search(pb2.SearchRequest(collection=name, vectors=data_pb2.FloatVectors(
        dimension=DIM, values=[v for i in ids for v in vector(i)]), limit=5, params=[data_pb2.Param(key="ef", value=64)]),
        timeout=30)
    return [(list(r.ids.int_ids), [round(d, 6) for d in r.distances]) for r in reply.results]


def test_concurrent_callers_get_exactly_what_they_get_alone(daemons, collection):
    merging, alone = daemons
    # Caller c searches row c*7 (every fourth caller brings three vectors of its own).
    asks = [[c * 7, c * 7 + 1, c * 7 + 2] if c % 4 == 0 else [c * 7] for c in range(CALLERS)]
    with grpc.insecure_channel(alone.tcp_target) as channel:
        stub = pb2_grpc.VectorDBStub(channel)
        previous = None
        for _ in range(20):  # Milvus's answers move for a few seconds after a load
            expected = [search(stub, collection, ask) for ask in asks]
            if expected == previous:
                break
            previous = expected
            time.sleep(0.5)
        else:
            pytest.fail("Milvus's answers did not settle")
    answers = [None] * CALLERS
    with grpc.insecure_channel(merging.tcp_target) as channel:
        stub = pb2_grpc.VectorDBStub(channel)
        start = threading.Barrier(CALLERS)

        def caller(c):
            start.wait()
            answers[c] = search(stub, collection, asks[c])

        threads = [threading.Thread(target=caller, args=(c,)) for c in range(CALLERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    for c in range(CALLERS):
        assert answers[c] == expected[c], f"caller {c}"
        for ask, (ids, distances) in zip(asks[c], answers[c]):
            assert ids[0] == ask and distances[0] < 1e-4
