"""Milvus databases through vdbm.v1: every request that names a collection takes a `database`.
Against Milvus 2.3.5 and Milvus Lite 3.2.2, the same collection name in two databases holds two
collections (pymilvus, told the database, sees vdbm's writes there), concurrent searches of both
never mix (coalescing keys on the database), and unknown databases are NOT_FOUND. Milvus Lite
2.5.1 has no databases (it ignores the header and would act in "default"): FAILED_PRECONDITION."""
import os
import time

import grpc
import pytest

from conftest import LITE_SERVERS, Daemon, lite_daemon, milvus_client, outcomes_in_threads
from vdbm_api import columns_by_name, data_pb2, int64_column, pb2, pb2_grpc, vectors_column

DIM = 4


def collection(name, database):
    return pb2.CreateCollectionRequest(collection=name, database=database, dimension=DIM, index=pb2.IndexSpec(type="FLAT"),
                                       load=True, consistency=data_pb2.CONSISTENCY_STRONG)


def insert(stub, name, database, keys):
    stub.Insert(pb2.WriteRequest(collection=name, database=database, columns=[
        int64_column("id", keys), vectors_column("vector", [[float(k), 0.0, 0.0, 0.0] for k in keys], DIM)]), timeout=60)


def nearest(stub, name, database, key):
    return list(stub.Search(pb2.SearchRequest(collection=name, database=database, limit=1,
                                              vectors=data_pb2.FloatVectors(dimension=DIM, values=[float(key), 0, 0, 0]),
                                              consistency=data_pb2.CONSISTENCY_STRONG), timeout=30).results[0].ids.int_ids)


SERVERS = [pytest.param("milvus-2.3.5", id="milvus-2.3.5")] + [
    pytest.param(server.values[0][0], id=server.id, marks=server.marks) for server in LITE_SERVERS]


@pytest.mark.parametrize("server", SERVERS)
def test_one_name_in_two_databases_is_two_collections(server):
    if server == "milvus-2.3.5":
        daemon, uri = Daemon(env={"VDBM_LOGGING_ACCESS_LOG": "false"}), f"http://{os.environ.get('MILVUS_ADDRESS', '127.0.0.1:19530')}"
        token = f"{os.environ['MILVUS_USER']}:{os.environ.get('MILVUS_PASSWORD', '')}" if "MILVUS_USER" in os.environ else ""
    else:
        address = dict(LITE_ADDRESSES)[server]
        daemon, uri, token = lite_daemon(address), f"http://{address}", ""
    stamp = int(time.time() * 1000)
    database, name = f"tenant_{stamp}", f"docs_{stamp}"
    try:
        with grpc.insecure_channel(daemon.tcp_target) as channel:
            stub = pb2_grpc.VectorDBStub(channel)
            if server == "lite-2.5.1":
                for call, request in [(stub.CreateDatabase, pb2.DatabaseRequest(database=database)),
                                      (stub.HasCollection, pb2.CollectionRequest(collection=name, database="other"))]:
                    with pytest.raises(grpc.RpcError) as refused:
                        call(request, timeout=30)
                    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION, refused.value.details()
                return
            stub.CreateDatabase(pb2.DatabaseRequest(database=database), timeout=30)
            assert database in stub.ListDatabases(pb2.ListDatabasesRequest(), timeout=30).databases
            with pytest.raises(grpc.RpcError) as twice:
                stub.CreateDatabase(pb2.DatabaseRequest(database=database), timeout=30)
            assert twice.value.code() == grpc.StatusCode.ALREADY_EXISTS

            stub.CreateCollection(collection(name, ""), timeout=120)
            stub.CreateCollection(collection(name, database), timeout=120)
            insert(stub, name, "", list(range(10)))
            insert(stub, name, database, [100, 101, 102])
            count = lambda db: stub.Count(pb2.CountRequest(collection=name, database=db), timeout=30).count
            assert (count(""), count("default"), count(database)) == (10, 10, 3)
            assert nearest(stub, name, database, 0) == [100] and nearest(stub, name, "", 100) == [9]
            rows = columns_by_name(stub.Get(pb2.GetRequest(collection=name, database=database,
                                                           ids=data_pb2.PrimaryKeys(int_ids=[1, 101])), timeout=30))
            assert rows["id"] == [101]
            assert name in stub.ListCollections(pb2.ListCollectionsRequest(database=database), timeout=30).collections

            # pymilvus, told the database, sees what vdbm wrote there.
            direct = milvus_client(uri, token=token, db_name=database)
            assert sorted(row["id"] for row in direct.query(name, filter="id >= 0", consistency_level="Strong")) == [100, 101, 102]
            direct.close()

            # Concurrent searches of both databases (merged by the coalescer when alike) never mix.
            def search(i):
                db, key = (database, 100 + i % 3) if i % 2 else ("", i % 10)
                return nearest(stub, name, db, key) == [key]
            outcomes = outcomes_in_threads(32, search)
            assert outcomes == [True] * 32, outcomes

            with pytest.raises(grpc.RpcError) as unknown:
                stub.Count(pb2.CountRequest(collection=name, database="no_such_db"), timeout=30)
            assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
            assert unknown.value.details() == "database 'no_such_db' does not exist"

            stub.DropCollection(pb2.CollectionRequest(collection=name, database=database), timeout=60)
            assert stub.HasCollection(pb2.CollectionRequest(collection=name), timeout=30).exists
            stub.DropDatabase(pb2.DatabaseRequest(database=database), timeout=30)
            with pytest.raises(grpc.RpcError) as gone:
                stub.DropDatabase(pb2.DatabaseRequest(database=database), timeout=30)
            assert gone.value.code() == grpc.StatusCode.NOT_FOUND
            stub.DropCollection(pb2.CollectionRequest(collection=name), timeout=60)
    finally:
        assert daemon.stop() == 0, daemon.log_text()


LITE_ADDRESSES = [(server.values[0][0], server.values[0][1]) for server in LITE_SERVERS]
