"""vdbm.v1.VectorDB end to end: the stock Python grpcio client (stubs generated from Protos/ at
test time) against a running vdbm with a real Milvus 2.3.5 behind it. Every RPC is called with
its results checked, and every status code of the error table of docs/api.md is provoked."""
import hashlib
import math
import random
import time

import grpc
import pytest

from conftest import Daemon, free_port, health_check
from raw_h2 import RawH2Connection
from grpc_health.v1 import health_pb2
from vdbm_api import (columns_by_name, data_pb2, int64_column, pb2, pb2_grpc, string_column,
                      vectors_column)

DIM = 16
ROWS = 1000
KEYS = {"admin": "admin-key-e2e", "writer": "writer-key-e2e", "reader": "reader-key-e2e"}
ROLES = {"admin": "admin", "writer": "write", "reader": "read"}


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def as_(role):
    return [("authorization", f"Bearer {KEYS[role]}")]


@pytest.fixture(scope="module")
def api():
    """vdbm with auth on (three keys, one per role) and its VectorDB stub."""
    keys = ",".join(f"{name}:{ROLES[name]}:{sha(key)}" for name, key in KEYS.items())
    daemon = Daemon(env={"VDBM_AUTH_ENABLED": "true", "VDBM_AUTH_API_KEYS": keys, "VDBM_LOGGING_ACCESS_LOG": "false"})
    channel = grpc.insecure_channel(daemon.tcp_target, options=[("grpc.max_send_message_length", 100 << 20)])
    yield daemon, pb2_grpc.VectorDBStub(channel)
    channel.close()
    assert daemon.stop() == 0, daemon.log_text()


@pytest.fixture(scope="module")
def rows():
    rng = random.Random(42)
    return [[rng.uniform(-1, 1) for _ in range(DIM)] for _ in range(ROWS)]


@pytest.fixture(scope="module")
def collection(api, rows):
    """A loaded collection of 1,000 known rows: id i, age i, city one of four, vector rows[i]."""
    _, stub = api
    name = f"e2e_{int(time.time() * 1000)}"
    stub.CreateCollection(pb2.CreateCollectionRequest(
        collection=name, dimension=DIM, metric=data_pb2.METRIC_L2,
        scalar_fields=[pb2.ScalarField(name="age", type=pb2.ScalarField.TYPE_INT64),
                       pb2.ScalarField(name="city", type=pb2.ScalarField.TYPE_STRING, max_length=32)],
        index=pb2.IndexSpec(type="HNSW", params=[data_pb2.Param(key="M", value=16),
                                                 data_pb2.Param(key="efConstruction", value=100)]),
        load=True), metadata=as_("admin"), timeout=120)
    reply = stub.Insert(pb2.WriteRequest(collection=name, columns=[
        int64_column("id", list(range(ROWS))), int64_column("age", list(range(ROWS))),
        string_column("city", [CITIES[i % 4] for i in range(ROWS)]), vectors_column("vector", rows, DIM)]),
        metadata=as_("writer"), timeout=30)
    assert list(reply.ids.int_ids) == list(range(ROWS)) and reply.count == ROWS
    yield name
    stub.DropCollection(pb2.CollectionRequest(collection=name), metadata=as_("admin"), timeout=30)


CITIES = ["paris", "lima", "oslo", "kyiv"]


def search(stub, name, vectors, **fields):
    request = pb2.SearchRequest(collection=name, vectors=data_pb2.FloatVectors(
        dimension=DIM, values=[v for row in vectors for v in row]),
        consistency=data_pb2.CONSISTENCY_STRONG, params=[data_pb2.Param(key="ef", value=64)], **fields)
    return stub.Search(request, metadata=as_("reader"), timeout=30)


# --- every RPC, results checked ---------------------------------------------------------------

def test_collection_is_listed_described_and_loaded(api, collection):
    _, stub = api
    assert stub.HasCollection(pb2.CollectionRequest(collection=collection), metadata=as_("reader")).exists
    assert collection in stub.ListCollections(pb2.ListCollectionsRequest(), metadata=as_("reader")).collections
    info = stub.DescribeCollection(pb2.CollectionRequest(collection=collection), metadata=as_("reader"))
    fields = {field.name: field for field in info.fields}
    assert fields["id"].primary_key and fields["id"].type == data_pb2.FIELD_TYPE_INT64
    assert fields["vector"].type == data_pb2.FIELD_TYPE_FLOAT_VECTOR and fields["vector"].dimension == DIM
    assert fields["city"].type == data_pb2.FIELD_TYPE_STRING and fields["city"].max_length == 32
    assert info.load_state == data_pb2.LOAD_STATE_LOADED
    assert [index.field for index in info.indexes] == ["vector"]
    state = stub.GetLoadState(pb2.CollectionRequest(collection=collection), metadata=as_("reader"))
    assert state.state == data_pb2.LOAD_STATE_LOADED
    indexes = stub.DescribeIndexes(pb2.CollectionRequest(collection=collection), metadata=as_("reader")).indexes
    assert dict((p.key, p.value) for p in indexes[0].params)["index_type"] == "HNSW"


def test_count_and_search_find_each_known_row_first(api, collection, rows):
    _, stub = api
    assert stub.Count(pb2.CountRequest(collection=collection), metadata=as_("reader")).count == ROWS
    assert stub.Count(pb2.CountRequest(collection=collection, filter="age < 100"), metadata=as_("reader")).count == 100
    probes = [7, 123, 999]
    reply = search(stub, collection, [rows[i] for i in probes], limit=5, output_fields=["age", "city"])
    assert len(reply.results) == 3
    for probe, result in zip(probes, reply.results):
        assert result.ids.int_ids[0] == probe and result.distances[0] < 1e-4
        assert list(result.distances) == sorted(result.distances) and len(result.ids.int_ids) == 5
        fields = columns_by_name(result.__class__(fields=result.fields)) if False else {c.name: c for c in result.fields}
        assert list(fields["age"].int64s.values) == list(result.ids.int_ids)
        assert fields["city"].strings.values[0] == CITIES[probe % 4]


def test_filtered_search_returns_only_matching_rows(api, collection, rows):
    _, stub = api
    reply = search(stub, collection, [rows[3]], limit=20, filter='city == "oslo" and age >= 500', output_fields=["age"])
    ids = list(reply.results[0].ids.int_ids)
    assert ids and all(i % 4 == 2 and i >= 500 for i in ids)


def test_get_and_query_return_exactly_the_asked_rows(api, collection, rows):
    _, stub = api
    got = columns_by_name(stub.Get(pb2.GetRequest(collection=collection, ids=data_pb2.PrimaryKeys(int_ids=[5, 6, 900]),
                                                  output_fields=["age", "vector"]), metadata=as_("reader")))
    order = sorted(range(3), key=lambda k: got["id"][k])
    assert [got["id"][k] for k in order] == [5, 6, 900]
    assert [got["age"][k] for k in order] == [5, 6, 900]
    for k in order:
        assert all(math.isclose(a, b, abs_tol=1e-6) for a, b in zip(got["vector"][k], rows[got["id"][k]]))
    queried = stub.Query(pb2.QueryRequest(collection=collection, filter="age < 10", output_fields=["age"],
                                          consistency=data_pb2.CONSISTENCY_STRONG), metadata=as_("reader"))
    assert sorted(columns_by_name(queried)["id"]) == list(range(10)) and queried.row_count == 10
    page = stub.Query(pb2.QueryRequest(collection=collection, filter="age >= 0", limit=7, offset=3), metadata=as_("reader"))
    assert page.row_count == 7


def test_upsert_replaces_and_delete_removes_exactly_those_rows(api, collection, rows):
    _, stub = api
    reply = stub.Upsert(pb2.WriteRequest(collection=collection, columns=[
        int64_column("id", [10]), int64_column("age", [5000]), string_column("city", ["rome"]),
        vectors_column("vector", [rows[10]], DIM)]), metadata=as_("writer"))
    assert list(reply.ids.int_ids) == [10] and reply.count == 1
    got = columns_by_name(stub.Get(pb2.GetRequest(collection=collection, ids=data_pb2.PrimaryKeys(int_ids=[10]),
                                                  output_fields=["age", "city"]), metadata=as_("reader")))
    assert got["age"] == [5000] and got["city"] == ["rome"]
    deleted = stub.Delete(pb2.DeleteRequest(collection=collection, ids=data_pb2.PrimaryKeys(int_ids=[20, 21])),
                          metadata=as_("writer"))
    assert deleted.count == 2
    stub.Delete(pb2.DeleteRequest(collection=collection, filter="age >= 990 and age < 1000"), metadata=as_("writer"))
    stub.Flush(pb2.FlushRequest(collections=[collection]), metadata=as_("writer"), timeout=60)
    remaining = stub.Query(pb2.QueryRequest(collection=collection, filter="age >= 0", output_fields=["age"], limit=16384,
                                            consistency=data_pb2.CONSISTENCY_STRONG), metadata=as_("reader"))
    ids = set(columns_by_name(remaining)["id"])
    assert ids == set(range(ROWS)) - {20, 21} - set(range(990, 1000))


def test_partitions_indexes_and_loading_can_be_managed(api, collection):
    _, stub = api
    admin = as_("admin")
    stub.CreatePartition(pb2.PartitionRequest(collection=collection, partition="extra"), metadata=admin)
    listed = stub.ListPartitions(pb2.CollectionRequest(collection=collection), metadata=as_("reader")).partitions
    assert "extra" in listed and "_default" in listed
    stub.ReleaseCollection(pb2.CollectionRequest(collection=collection), metadata=admin)
    assert stub.GetLoadState(pb2.CollectionRequest(collection=collection),
                             metadata=admin).state == data_pb2.LOAD_STATE_NOT_LOADED
    stub.DropPartition(pb2.PartitionRequest(collection=collection, partition="extra"), metadata=admin)
    assert "extra" not in stub.ListPartitions(pb2.CollectionRequest(collection=collection), metadata=admin).partitions
    stub.DropIndex(pb2.DropIndexRequest(collection=collection, index_name="vector"), metadata=admin)
    assert len(stub.DescribeIndexes(pb2.CollectionRequest(collection=collection), metadata=admin).indexes) == 0
    stub.CreateIndex(pb2.CreateIndexRequest(collection=collection, index=pb2.IndexSpec(
        type="HNSW", params=[data_pb2.Param(key="M", value=8), data_pb2.Param(key="efConstruction", value=64)])),
        metadata=admin, timeout=60)
    indexes = stub.DescribeIndexes(pb2.CollectionRequest(collection=collection), metadata=admin).indexes
    assert [(i.index_name, i.field) for i in indexes] == [("vector", "vector")]
    stub.LoadCollection(pb2.CollectionRequest(collection=collection), metadata=admin, timeout=120)
    assert stub.GetLoadState(pb2.CollectionRequest(collection=collection),
                             metadata=admin).state == data_pb2.LOAD_STATE_LOADED


def test_server_info_reports_milvus_and_the_pool(api):
    _, stub = api
    info = stub.GetServerInfo(pb2.GetServerInfoRequest(), metadata=as_("reader"))
    assert info.version and info.milvus_version.startswith("v2.3")
    assert list(info.milvus_features) == ["range_search"]  # what Milvus 2.3 has of today's search
    assert len(info.milvus_endpoints) == 1 and info.pool.connections == 2 and info.pool.ready_connections >= 1


def test_string_keys_and_auto_ids(api):
    _, stub = api
    admin, writer = as_("admin"), as_("writer")
    name = f"e2e_keys_{int(time.time() * 1000)}"
    stub.CreateCollection(pb2.CreateCollectionRequest(collection=name, dimension=2, string_primary_key=True,
                                                      metric=data_pb2.METRIC_COSINE), metadata=admin)
    try:
        reply = stub.Insert(pb2.WriteRequest(collection=name, columns=[
            string_column("id", ["a", "b"]), vectors_column("vector", [[1, 0], [0, 1]], 2)]), metadata=writer)
        assert list(reply.ids.string_ids) == ["a", "b"]
    finally:
        stub.DropCollection(pb2.CollectionRequest(collection=name), metadata=admin)
    auto = f"e2e_auto_{int(time.time() * 1000)}"
    stub.CreateCollection(pb2.CreateCollectionRequest(collection=auto, dimension=2, auto_id=True), metadata=admin)
    try:
        reply = stub.Insert(pb2.WriteRequest(collection=auto, columns=[vectors_column("vector", [[1, 0], [0, 1]], 2)]),
                            metadata=writer)
        assert len(reply.ids.int_ids) == 2 and len(set(reply.ids.int_ids)) == 2
    finally:
        stub.DropCollection(pb2.CollectionRequest(collection=auto), metadata=admin)


# --- every error code of the table ------------------------------------------------------------

def code_of(call, *args, **kwargs):
    with pytest.raises(grpc.RpcError) as failure:
        call(*args, **kwargs)
    return failure.value.code(), failure.value.details()


def assert_still_serving(daemon, stub):
    assert daemon.process.poll() is None, daemon.log_text()
    assert health_check(daemon.tcp_target) == health_pb2.HealthCheckResponse.SERVING
    stub.ListCollections(pb2.ListCollectionsRequest(), metadata=as_("reader"), timeout=10)


def test_missing_or_unknown_key_is_unauthenticated(api):
    daemon, stub = api
    code, _ = code_of(stub.ListCollections, pb2.ListCollectionsRequest())
    assert code == grpc.StatusCode.UNAUTHENTICATED
    code, details = code_of(stub.ListCollections, pb2.ListCollectionsRequest(),
                            metadata=[("authorization", "Bearer not-a-key")])
    assert code == grpc.StatusCode.UNAUTHENTICATED and "unknown API key" in details
    # Health stays open without a key.
    assert health_check(daemon.tcp_target) == health_pb2.HealthCheckResponse.SERVING


def test_insufficient_role_is_permission_denied(api, collection):
    _, stub = api
    code, details = code_of(stub.Insert, pb2.WriteRequest(collection=collection), metadata=as_("reader"))
    assert code == grpc.StatusCode.PERMISSION_DENIED and "needs write" in details
    code, _ = code_of(stub.DropCollection, pb2.CollectionRequest(collection=collection), metadata=as_("writer"))
    assert code == grpc.StatusCode.PERMISSION_DENIED


def test_unknown_collection_is_not_found(api):
    daemon, stub = api
    code, _ = code_of(stub.DescribeCollection, pb2.CollectionRequest(collection="no_such_collection"), metadata=as_("reader"))
    assert code == grpc.StatusCode.NOT_FOUND
    code, _ = code_of(search, stub, "no_such_collection", [[0.0] * DIM])
    assert code == grpc.StatusCode.NOT_FOUND
    assert_still_serving(daemon, stub)


def test_creating_an_existing_collection_is_already_exists(api, collection):
    _, stub = api
    code, _ = code_of(stub.CreateCollection, pb2.CreateCollectionRequest(collection=collection, dimension=DIM),
                      metadata=as_("admin"))
    assert code == grpc.StatusCode.ALREADY_EXISTS


@pytest.mark.parametrize("case", ["wrong_dimension", "nan", "infinity", "bad_name", "long_filter", "empty_batch",
                                  "ragged_columns", "limit_too_large", "both_id_kinds"])
def test_bad_requests_are_invalid_argument(api, collection, rows, case):
    daemon, stub = api
    reader, writer = as_("reader"), as_("writer")
    if case == "wrong_dimension":
        request = pb2.SearchRequest(collection=collection, vectors=data_pb2.FloatVectors(dimension=DIM + 1,
                                                                                       values=[0.5] * (DIM + 1)))
        code, details = code_of(stub.Search, request, metadata=reader)
        assert "dimension" in details
    elif case in ("nan", "infinity"):
        bad = [0.0] * DIM
        bad[3] = float("nan") if case == "nan" else float("inf")
        code, details = code_of(stub.Insert, pb2.WriteRequest(collection=collection, columns=[
            int64_column("id", [5000]), int64_column("age", [1]), string_column("city", ["x"]),
            vectors_column("vector", [bad], DIM)]), metadata=writer)
        assert "NaN or infinite" in details
        code2, _ = code_of(search, stub, collection, [bad])
        assert code2 == grpc.StatusCode.INVALID_ARGUMENT
    elif case == "bad_name":
        code, details = code_of(stub.DescribeCollection, pb2.CollectionRequest(collection="bad name;"), metadata=reader)
    elif case == "long_filter":
        code, details = code_of(stub.Query, pb2.QueryRequest(collection=collection, filter="age > 1 " * 12800),
                                metadata=reader)
        assert "filter is 102400 bytes" in details
    elif case == "empty_batch":
        code, details = code_of(stub.Insert, pb2.WriteRequest(collection=collection), metadata=writer)
    elif case == "ragged_columns":
        code, details = code_of(stub.Insert, pb2.WriteRequest(collection=collection, columns=[
            int64_column("id", [1, 2]), int64_column("age", [1])]), metadata=writer)
    elif case == "limit_too_large":
        code, details = code_of(search, stub, collection, [rows[0]], limit=20000)
    else:
        code, details = code_of(stub.Get, pb2.GetRequest(collection=collection, ids=data_pb2.PrimaryKeys(
            int_ids=[1], string_ids=["a"])), metadata=reader)
    assert code == grpc.StatusCode.INVALID_ARGUMENT, details
    assert_still_serving(daemon, stub)


def raw_call(daemon, method, payload, metadata):
    with grpc.insecure_channel(daemon.tcp_target, options=[("grpc.max_send_message_length", 100 << 20)]) as channel:
        call = channel.unary_unary(f"/vdbm.v1.VectorDB/{method}", request_serializer=lambda b: b,
                                   response_deserializer=lambda b: b)
        return code_of(call, payload, metadata=metadata, timeout=30)


@pytest.mark.parametrize("payload", [b"\x0a\xff\xff", b"\xff\xff\xff\xff", b"\x0a\x05abc"],
                         ids=["truncated_length", "bad_tag", "short_string"])
def test_malformed_protobuf_is_invalid_argument(api, payload):
    daemon, stub = api
    code, details = raw_call(daemon, "Search", payload, as_("reader"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "not a valid vdbm.v1.SearchRequest" in details
    assert_still_serving(daemon, stub)


def test_wrong_field_type_is_invalid_argument(api):
    daemon, stub = api
    # Field 1 (collection, a string) sent as a varint; field 2 (vectors, a message) as a fixed32.
    for payload in (b"\x08\x2a", b"\x15\x00\x00\x80\x3f"):
        code, _ = raw_call(daemon, "Search", payload, as_("reader"))
        assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert_still_serving(daemon, stub)


def test_oversized_message_is_resource_exhausted(api, collection):
    daemon, stub = api
    floats = (65 << 20) // 4 // DIM * DIM  # a 65 MiB vectors column
    request = pb2.WriteRequest(collection=collection, columns=[data_pb2.Column(
        name="vector", vectors=data_pb2.FloatVectors(dimension=DIM, values=[0.25] * floats))])
    code, details = code_of(stub.Insert, request, metadata=as_("writer"), timeout=60)
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED, details
    assert_still_serving(daemon, stub)


def test_a_deadline_that_passes_inside_vdbm_is_deadline_exceeded(api):
    """grpc-timeout 100 ms on a load that takes Milvus longer: vdbm itself answers DEADLINE_EXCEEDED
    when the deadline passes (sent with a raw HTTP/2 client, so no client-side timer is involved)."""
    daemon, stub = api
    admin = as_("admin")
    name = f"e2e_slow_load_{int(time.time() * 1000)}"
    stub.CreateCollection(pb2.CreateCollectionRequest(collection=name, dimension=DIM, index=pb2.IndexSpec(type="FLAT")),
                          metadata=admin, timeout=60)
    try:
        connection = RawH2Connection(daemon.port)
        started = time.monotonic()
        response = connection.call("/vdbm.v1.VectorDB/LoadCollection",
                                   pb2.CollectionRequest(collection=name).SerializeToString(),
                                   grpc_timeout="100m", authorization=f"Bearer {KEYS['admin']}")
        elapsed = time.monotonic() - started
        connection.close()
        assert response.grpc_status == 4, (response.grpc_status, response.grpc_message)  # DEADLINE_EXCEEDED
        assert 0.09 <= elapsed < 2, elapsed
    finally:
        stub.DropCollection(pb2.CollectionRequest(collection=name), metadata=admin, timeout=60)
    assert_still_serving(daemon, stub)


def test_a_collection_never_loaded_is_failed_precondition_with_milvus_reason(api):
    _, stub = api
    admin = as_("admin")
    name = f"e2e_unloaded_{int(time.time() * 1000)}"
    stub.CreateCollection(pb2.CreateCollectionRequest(collection=name, dimension=2), metadata=admin)
    try:
        # No index, never loaded: vdbm's sentence first, then Milvus's own reason.
        code, details = code_of(stub.Search, pb2.SearchRequest(
            collection=name, vectors=data_pb2.FloatVectors(dimension=2, values=[1, 0])), metadata=as_("reader"))
        assert code == grpc.StatusCode.FAILED_PRECONDITION, details
        assert details.startswith(f"collection '{name}' is not loaded: load it first (Milvus: ") and "not loaded" in details
    finally:
        stub.DropCollection(pb2.CollectionRequest(collection=name), metadata=admin)


def test_milvus_unreachable_is_unavailable_and_not_serving():
    """A vdbm whose Milvus endpoint has nothing listening: calls fail fast with UNAVAILABLE and
    health says NOT_SERVING (no crash, no hang)."""
    daemon = Daemon(env={"VDBM_MILVUS_ENDPOINTS": f"127.0.0.1:{free_port()}"}, wait_for_serving=False)
    try:
        assert health_check(daemon.tcp_target) == health_pb2.HealthCheckResponse.NOT_SERVING
        assert health_check(daemon.tcp_target, "vdbm.v1.VectorDB") == health_pb2.HealthCheckResponse.NOT_SERVING
        with grpc.insecure_channel(daemon.tcp_target) as channel:
            stub = pb2_grpc.VectorDBStub(channel)
            started = time.monotonic()
            code, details = code_of(stub.ListCollections, pb2.ListCollectionsRequest(), timeout=5)
            assert code == grpc.StatusCode.UNAVAILABLE, details
            assert time.monotonic() - started < 5
            info = stub.GetServerInfo(pb2.GetServerInfoRequest(), timeout=5)
            assert info.milvus_version == "" and info.pool.ready_connections == 0
    finally:
        assert daemon.stop() == 0, daemon.log_text()


def test_hash_key_prints_the_sha256_that_auth_api_keys_expects():
    import subprocess
    from conftest import E2E_VDBM_BIN
    printed = subprocess.run([E2E_VDBM_BIN, "hash-key", KEYS["admin"]], capture_output=True, text=True, check=True).stdout
    assert printed.strip() == sha(KEYS["admin"])
    from_stdin = subprocess.run([E2E_VDBM_BIN, "hash-key", "-"], input=KEYS["reader"] + "\n", capture_output=True, text=True,
                                check=True).stdout
    assert from_stdin.strip() == sha(KEYS["reader"])
