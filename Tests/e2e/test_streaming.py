"""vdbm.v1's streaming methods through grpcio against Milvus 2.3.5: Export walks a collection in
primary-key order (each of 50,000 rows exactly once), ImportRows inserts batch after batch and
says what landed when Milvus goes away in the middle, and a client that stops reading an export
leaves vdbm's memory bounded. Timings are printed (-s) next to pymilvus doing the same."""
import os
import random
import time

import grpc
import pytest

from conftest import MILVUS_ADDRESS, Daemon, Relay, free_port
from raw_h2 import RawH2Connection, grpc_frame, grpc_headers
from vdbm_api import data_pb2, int64_column, pb2, pb2_grpc, vectors_column

DIM = 32
ROWS = 50_000
BATCH = 5_000


def batch(start: int, count: int, rng: random.Random) -> pb2.WriteRequest:
    ids = list(range(start, start + count))
    vectors = [[rng.uniform(-1, 1) for _ in range(DIM)] for _ in ids]
    return pb2.WriteRequest(collection="", columns=[int64_column("id", ids), vectors_column("vector", vectors, DIM)])


def create(stub, name: str) -> None:
    stub.CreateCollection(pb2.CreateCollectionRequest(
        collection=name, dimension=DIM, metric=data_pb2.METRIC_L2,
        index=pb2.IndexSpec(type="HNSW", params=[data_pb2.Param(key="M", value=8),
                                                 data_pb2.Param(key="efConstruction", value=32)]),
        load=True), timeout=120)


@pytest.fixture(scope="module")
def api():
    daemon = Daemon(env={"VDBM_LOGGING_ACCESS_LOG": "false"})
    channel = grpc.insecure_channel(daemon.tcp_target, options=[("grpc.max_receive_message_length", 64 << 20)])
    yield daemon, pb2_grpc.VectorDBStub(channel)
    channel.close()
    assert daemon.stop() == 0, daemon.log_text()


@pytest.fixture(scope="module")
def imported(api):
    """A collection of ROWS rows (ids 0..ROWS-1) put in by one ImportRows call."""
    _, stub = api
    name = f"e2e_stream_{int(time.time() * 1000)}"
    create(stub, name)
    rng = random.Random(7)
    batches = []
    for start in range(0, ROWS, BATCH):
        request = batch(start, BATCH, rng)
        request.collection = name
        batches.append(request)
    started = time.monotonic()
    summary = stub.ImportRows(iter(batches), timeout=120)
    elapsed = time.monotonic() - started
    print(f"\nImportRows: {ROWS} rows in {elapsed:.2f} s = {ROWS / elapsed:,.0f} rows/s")
    assert summary.rows == ROWS and list(summary.batch_rows) == [BATCH] * (ROWS // BATCH)
    yield name
    stub.DropCollection(pb2.CollectionRequest(collection=name), timeout=30)


def test_export_returns_every_row_exactly_once_in_key_order(api, imported):
    _, stub = api
    started = time.monotonic()
    pages = list(stub.Export(pb2.ExportRequest(collection=imported, page_size=4096, output_fields=["id", "vector"],
                                               consistency=data_pb2.CONSISTENCY_STRONG), timeout=120))
    elapsed = time.monotonic() - started
    ids = [i for page in pages for column in page.columns if column.name == "id" for i in column.int64s.values]
    print(f"\nExport: {len(ids)} rows in {len(pages)} pages, {elapsed:.2f} s = {len(ids) / elapsed:,.0f} rows/s")
    assert ids == list(range(ROWS))
    assert all(page.row_count <= 4096 for page in pages)
    vectors = [page for page in pages if any(c.name == "vector" and len(c.vectors.values) == page.row_count * DIM
                                             for c in page.columns)]
    assert len(vectors) == len(pages)


def test_export_with_a_filter_walks_only_the_matching_rows(api, imported):
    _, stub = api
    pages = stub.Export(pb2.ExportRequest(collection=imported, filter="id >= 1000 and id < 3500 and id % 2 == 0",
                                          page_size=300, consistency=data_pb2.CONSISTENCY_STRONG), timeout=60)
    ids = [i for page in pages for column in page.columns if column.name == "id" for i in column.int64s.values]
    assert ids == list(range(1000, 3500, 2))


def test_export_of_an_unknown_collection_is_not_found(api):
    _, stub = api
    with pytest.raises(grpc.RpcError) as failure:
        list(stub.Export(pb2.ExportRequest(collection="no_such_collection_e2e"), timeout=10))
    assert failure.value.code() == grpc.StatusCode.NOT_FOUND


def test_an_invalid_batch_stops_the_import_and_says_what_landed(api):
    _, stub = api
    name = f"e2e_import_{int(time.time() * 1000)}"
    create(stub, name)
    try:
        rng = random.Random(3)
        good = [batch(i * 100, 100, rng) for i in range(2)]
        bad = batch(200, 100, rng)
        del bad.columns[1].vectors.values[-1]  # one float short
        for request in good + [bad]:
            request.collection = name
        with pytest.raises(grpc.RpcError) as failure:
            stub.ImportRows(iter(good + [bad]), timeout=30)
        assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert failure.value.details().startswith("batch 3 failed after 200 rows in 2 batches were inserted: ")
        count = stub.Count(pb2.CountRequest(collection=name), timeout=10).count
        assert count == 200
    finally:
        stub.DropCollection(pb2.CollectionRequest(collection=name), timeout=30)


def test_an_import_reports_its_progress_when_milvus_goes_away_in_the_middle(api):
    _, direct = api
    name = f"e2e_import_cut_{int(time.time() * 1000)}"
    create(direct, name)
    port = free_port()
    relay = Relay(port, MILVUS_ADDRESS)
    relay.start()
    daemon = Daemon(env={"VDBM_MILVUS_ENDPOINTS": f"127.0.0.1:{port}", "VDBM_LOGGING_ACCESS_LOG": "false"})
    try:
        with grpc.insecure_channel(daemon.tcp_target) as channel:
            stub = pb2_grpc.VectorDBStub(channel)
            rng = random.Random(5)

            def batches():
                for index in range(3):
                    request = batch(index * 1000, 1000, rng)
                    request.collection = name
                    yield request
                # The three batches landed (asked through the other vdbm): then Milvus "stops".
                deadline = time.monotonic() + 30
                while direct.Count(pb2.CountRequest(collection=name), timeout=10).count < 3000:
                    assert time.monotonic() < deadline, "the first three batches did not land"
                    time.sleep(0.05)
                relay.cut()
                for index in range(3, 6):
                    request = batch(index * 1000, 1000, rng)
                    request.collection = name
                    yield request

            with pytest.raises(grpc.RpcError) as failure:
                stub.ImportRows(batches(), timeout=30)
            print(f"\nimport cut: {failure.value.code()} {failure.value.details()}")
            assert failure.value.code() == grpc.StatusCode.UNAVAILABLE
            assert failure.value.details().startswith("batch 4 failed after 3000 rows in 3 batches were inserted: ")
        assert direct.Count(pb2.CountRequest(collection=name), timeout=10).count == 3000
    finally:
        daemon.stop()
        relay.cut()
        direct.DropCollection(pb2.CollectionRequest(collection=name), timeout=30)


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def test_clients_that_stop_reading_an_export_leave_memory_bounded(api, imported):
    daemon, _ = api
    request = pb2.ExportRequest(collection=imported, page_size=1000, output_fields=["id", "vector"]).SerializeToString()
    before = rss_kib(daemon.process.pid)
    readers = []
    for _ in range(20):  # 20 exports of ~7 MB each, none read past the first 64 KiB window
        connection = RawH2Connection(daemon.port)
        stream = connection.start(grpc_headers("/vdbm.v1.VectorDB/Export"))
        connection.send(stream, grpc_frame(request), end_stream=True)
        readers.append(connection)
    time.sleep(5)
    after = rss_kib(daemon.process.pid)
    print(f"\nvdbm RSS with 20 stalled exports: {before / 1024:.1f} -> {after / 1024:.1f} MiB")
    assert after - before < 60 * 1024, "vdbm buffered the exports nobody reads"
    for connection in readers:
        connection.sock.close()
