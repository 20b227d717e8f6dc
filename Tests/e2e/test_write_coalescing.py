"""Write coalescing through a running vdbm with Milvus 2.3.5 behind it: 32 grpcio writers, each
inserting one row at a time with ids of its own, every call answered with exactly its own id,
every acknowledged row in Milvus exactly once, and fewer Milvus writes than calls (the daemon's
vdbm_write_batches_total)."""
import time

import grpc
import pytest

from conftest import Daemon, outcomes_in_threads, scrape
from vdbm_api import data_pb2, int64_column, pb2, pb2_grpc, vectors_column

DIM, WRITERS, PER_WRITER = 8, 32, 25


@pytest.fixture(scope="module")
def merging():
    daemon = Daemon(env={"VDBM_LOGGING_ACCESS_LOG": "false"})
    yield daemon
    assert daemon.stop() == 0, daemon.log_text()


def vector(i):
    return [float(i % 89) + k * 0.5 for k in range(DIM)]


def test_concurrent_single_row_inserts_each_get_their_own_id_and_are_stored_exactly_once(merging):
    with grpc.insecure_channel(merging.tcp_target) as channel:
        stub = pb2_grpc.VectorDBStub(channel)
        name = f"e2e_write_coalesce_{int(time.time() * 1000)}"
        stub.CreateCollection(pb2.CreateCollectionRequest(collection=name, dimension=DIM,
                                                          consistency=data_pb2.CONSISTENCY_STRONG), timeout=120)
        try:
            before, _ = scrape(merging)

            def writer(w):
                for k in range(PER_WRITER):
                    key = w * PER_WRITER + k
                    reply = stub.Insert(pb2.WriteRequest(collection=name, columns=[
                        int64_column("id", [key]), vectors_column("vector", [vector(key)], DIM)]), timeout=60)
                    assert list(reply.ids.int_ids) == [key] and reply.count == 1, reply
                return PER_WRITER

            outcomes = outcomes_in_threads(WRITERS, writer)
            assert outcomes == [PER_WRITER] * WRITERS, [o for o in outcomes if isinstance(o, Exception)][:3]
            after, _ = scrape(merging)
            writes = after[("vdbm_write_batches_total", ())] - before.get(("vdbm_write_batches_total", ()), 0)
            assert 0 < writes < WRITERS * PER_WRITER / 2, f"{writes:.0f} Milvus writes for {WRITERS * PER_WRITER} inserts"

            stub.Flush(pb2.FlushRequest(collections=[name]), timeout=60)
            stub.CreateIndex(pb2.CreateIndexRequest(collection=name, field="vector", index=pb2.IndexSpec(type="FLAT")),
                             timeout=120)
            stub.LoadCollection(pb2.CollectionRequest(collection=name), timeout=120)
            rows = stub.Query(pb2.QueryRequest(collection=name, filter="id >= 0", output_fields=["id"], limit=16384,
                                               consistency=data_pb2.CONSISTENCY_STRONG), timeout=60)
            ids = [v for column in rows.columns if column.name == "id" for v in column.int64s.values]
            assert sorted(ids) == list(range(WRITERS * PER_WRITER))
        finally:
            stub.DropCollection(pb2.CollectionRequest(collection=name), timeout=60)
