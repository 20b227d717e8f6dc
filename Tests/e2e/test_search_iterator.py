"""vdbm.v1 SearchIterator against real servers: every row of a FLAT collection (exact distances)
comes once, in distance order, page after page, past Search's 16384 hits on Milvus 2.3.5 (L2)
and on both Milvus Lites (COSINE, larger is better); the first page is what a plain search
gives; a total limit cuts the walk."""
import math
import random
import time

import grpc
import pytest

from conftest import LITE_SERVERS, Daemon, lite_daemon
from vdbm_api import data_pb2, int64_column, pb2, pb2_grpc, vectors_column

DIM = 8


def rows(count, seed):
    rng = random.Random(seed)
    return [[rng.uniform(-1, 1) for _ in range(DIM)] for _ in range(count)]


def distances(query, data, metric):
    """What Milvus reports: squared L2, or cosine similarity."""
    if metric == data_pb2.METRIC_L2:
        return [sum((q - v) ** 2 for q, v in zip(query, row)) for row in data]
    norm = math.sqrt(sum(q * q for q in query))
    return [sum(q * v for q, v in zip(query, row)) / (norm * math.sqrt(sum(v * v for v in row))) for row in data]


def create(stub, name, data, metric):
    stub.CreateCollection(pb2.CreateCollectionRequest(
        collection=name, dimension=DIM, metric=metric, index=pb2.IndexSpec(type="FLAT"), load=True,
        consistency=data_pb2.CONSISTENCY_STRONG), timeout=120)
    for start in range(0, len(data), 10_000):
        chunk = data[start:start + 10_000]
        stub.Insert(pb2.WriteRequest(collection=name, columns=[
            int64_column("id", list(range(start, start + len(chunk)))), vectors_column("vector", chunk, DIM)]), timeout=120)


def iterate(stub, name, query, page_size, limit=0):
    request = pb2.SearchIteratorRequest(
        search=pb2.SearchRequest(collection=name, vectors=data_pb2.FloatVectors(dimension=DIM, values=query),
                                 consistency=data_pb2.CONSISTENCY_STRONG),
        page_size=page_size, limit=limit)
    return [(list(message.results[0].ids.int_ids), list(message.results[0].distances))
            for message in stub.SearchIterator(request, timeout=600)]


def walk_and_check(stub, name, data, metric, page_size):
    query = data[0]
    started = time.monotonic()
    pages = iterate(stub, name, query, page_size)
    seconds = time.monotonic() - started
    ids = [key for page, _ in pages for key in page]
    got = [distance for _, page in pages for distance in page]
    print(f"\nsearch iterator: {len(ids)} hits in {len(pages)} pages of {page_size} in {seconds:.1f} s")
    assert len(ids) == len(set(ids)) == len(data), "every row once"
    assert all(len(page) == page_size for page, _ in pages[:-1])
    expected = sorted(distances(query, data, metric), reverse=metric != data_pb2.METRIC_L2)
    assert all(abs(a - b) < 1e-3 for a, b in zip(got, expected)), "hits in distance order"
    # Each hit's own distance is its row's.
    exact = distances(query, data, metric)
    assert all(abs(exact[key] - distance) < 1e-3 for key, distance in zip(ids, got))
    # The first page is a plain search's answer.
    first = stub.Search(pb2.SearchRequest(collection=name, vectors=data_pb2.FloatVectors(dimension=DIM, values=query),
                                          limit=page_size, consistency=data_pb2.CONSISTENCY_STRONG), timeout=60).results[0]
    assert list(first.ids.int_ids) == pages[0][0]
    # A limit cuts the walk where it says.
    limited = iterate(stub, name, query, page_size, limit=page_size + 3)
    assert [len(page) for page, _ in limited] == [page_size, 3]
    assert [key for page, _ in limited for key in page] == ids[:page_size + 3]


def walk_a_new_collection(daemon, count, seed, metric, page_size):
    """A FLAT collection of `count` random rows through `daemon`, walked and checked, then dropped."""
    name = f"iter_{int(time.time() * 1000)}"
    data = rows(count, seed=seed)
    try:
        with grpc.insecure_channel(daemon.tcp_target) as channel:
            stub = pb2_grpc.VectorDBStub(channel)
            create(stub, name, data, metric)
            walk_and_check(stub, name, data, metric, page_size=page_size)
            stub.DropCollection(pb2.CollectionRequest(collection=name), timeout=60)
    finally:
        assert daemon.stop() == 0, daemon.log_text()


def test_search_iterator_walks_past_16384_hits_on_milvus_2_3():
    walk_a_new_collection(Daemon(env={"VDBM_LOGGING_ACCESS_LOG": "false"}), 20_000, seed=41, metric=data_pb2.METRIC_L2,
                          page_size=1000)


@pytest.mark.parametrize("lite", LITE_SERVERS)
def test_search_iterator_walks_every_hit_on_milvus_lite(lite):
    _, lite = lite
    walk_a_new_collection(lite_daemon(lite), 2_000, seed=42, metric=data_pb2.METRIC_COSINE, page_size=300)
