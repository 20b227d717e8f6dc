"""Today's search through vdbm.v1, against the same server called directly with pymilvus:
- range search (radius / range_filter as Param.number) on Milvus 2.3.5;
- grouping search (group_by_field, group_size) on Milvus Lite 3.2.2 and 2.5.1, each hit with its
  group value; on Milvus 2.3.5 it is FAILED_PRECONDITION, naming the version, before anything is
  sent;
- a collection made the 2.5 way (BM25 function, default value, two vector fields) written and
  searched through vdbm.v1 on both Lite servers."""
import os
import random
import time

import grpc
import pytest

from conftest import LITE_SERVERS, Daemon, lite_daemon, milvus_client
from test_passthrough import direct_client
from vdbm_api import column_values, data_pb2, int64_column, pb2, pb2_grpc, vectors_column

DIM = 8
ROWS = 200


def vectors(seed):
    rng = random.Random(seed)
    return [[rng.uniform(-1, 1) for _ in range(DIM)] for _ in range(ROWS)]


def create(stub, name, data):
    """A loaded FLAT collection (exact answers) of `data`: id i, doc i % 10."""
    stub.CreateCollection(pb2.CreateCollectionRequest(
        collection=name, dimension=DIM, metric=data_pb2.METRIC_L2,
        scalar_fields=[pb2.ScalarField(name="doc", type=pb2.ScalarField.TYPE_INT64)],
        index=pb2.IndexSpec(type="FLAT"), load=True, consistency=data_pb2.CONSISTENCY_STRONG), timeout=120)
    stub.Insert(pb2.WriteRequest(collection=name, columns=[
        int64_column("id", list(range(ROWS))), int64_column("doc", [i % 10 for i in range(ROWS)]),
        vectors_column("vector", data, DIM)]), timeout=60)


def typed_search(stub, name, query, **fields):
    return stub.Search(pb2.SearchRequest(collection=name, vectors=data_pb2.FloatVectors(dimension=DIM, values=query),
                                         consistency=data_pb2.CONSISTENCY_STRONG, **fields), timeout=30).results[0]


def test_range_search_with_number_params_gives_what_milvus_gives_directly():
    daemon = Daemon(env={"VDBM_LOGGING_ACCESS_LOG": "false"})
    name = f"range_{int(time.time() * 1000)}"
    data = vectors(31)
    try:
        with grpc.insecure_channel(daemon.tcp_target) as channel:
            stub = pb2_grpc.VectorDBStub(channel)
            create(stub, name, data)
            # L2 distances of the nearest rows to data[0] lie roughly between 0 and 10: keep a band.
            params = [data_pb2.Param(key="radius", number=6.0), data_pb2.Param(key="range_filter", number=2.0)]
            hits = typed_search(stub, name, data[0], limit=50, params=params)
            through = list(zip(hits.ids.int_ids, [round(d, 4) for d in hits.distances]))
            direct = direct_client().search(name, data=[data[0]], limit=50, consistency_level="Strong",
                                            search_params={"metric_type": "L2", "params": {"radius": 6.0, "range_filter": 2.0}})
            expected = [(hit["id"], round(hit["distance"], 4)) for hit in direct[0]]
            print(f"\nrange search: {len(through)} hits with 2.0 <= distance < 6.0")
            assert through == expected
            assert through and all(2.0 <= distance < 6.0 for _, distance in through)
            stub.DropCollection(pb2.CollectionRequest(collection=name), timeout=60)
    finally:
        assert daemon.stop() == 0, daemon.log_text()


def test_grouping_search_on_milvus_2_3_is_failed_precondition():
    daemon = Daemon(env={"VDBM_LOGGING_ACCESS_LOG": "false"})
    name = f"nogroup_{int(time.time() * 1000)}"
    try:
        with grpc.insecure_channel(daemon.tcp_target) as channel:
            stub = pb2_grpc.VectorDBStub(channel)
            create(stub, name, vectors(32))
            with pytest.raises(grpc.RpcError) as refused:
                typed_search(stub, name, [0.0] * DIM, limit=3, group_by_field="doc")
            stub.DropCollection(pb2.CollectionRequest(collection=name), timeout=60)
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert refused.value.details().startswith("grouping search needs Milvus 2.4 or newer; the server is v2.3.5")
    finally:
        assert daemon.stop() == 0, daemon.log_text()


@pytest.mark.parametrize("lite", LITE_SERVERS)
def test_grouping_search_on_milvus_lite_gives_what_lite_gives_directly(lite):
    _, lite = lite
    daemon = lite_daemon(lite)
    name = f"group_{int(time.time() * 1000)}"
    data = vectors(33)
    try:
        with grpc.insecure_channel(daemon.tcp_target) as channel:
            stub = pb2_grpc.VectorDBStub(channel)
            # Neither Lite names a version vdbm can compare (3.2.2 says "milvus_lite-3.2.2", 2.5.1
            # does not implement GetVersion), so nothing is refused and every feature is reported.
            assert "grouping_search" in stub.GetServerInfo(pb2.GetServerInfoRequest(), timeout=10).milvus_features
            create(stub, name, data)
            direct = milvus_client(f"http://{lite}")
            for query, size in [(0, 1), (7, 2)]:
                hits = typed_search(stub, name, data[query], limit=4, group_by_field="doc", group_size=size,
                                    output_fields=["doc"])
                through = list(zip(hits.ids.int_ids, [round(d, 4) for d in hits.distances], column_values(hits.group_values)))
                answer = direct.search(name, data=[data[query]], limit=4, group_by_field="doc", group_size=size,
                                       output_fields=["doc"], consistency_level="Strong")
                expected = [(hit["id"], round(hit["distance"], 4), hit["entity"]["doc"]) for hit in answer[0]]
                assert through == expected, (size, through, expected)
                assert hits.group_values.name == "doc"
                assert len({group for _, _, group in through}) == 4  # four groups
                assert through[0][0] == query
            stub.DropCollection(pb2.CollectionRequest(collection=name), timeout=60)
    finally:
        assert daemon.stop() == 0, daemon.log_text()


@pytest.mark.parametrize("lite", LITE_SERVERS)
def test_typed_insert_leaves_out_defaults_and_function_output_and_search_names_its_vector_field(lite):
    """A collection made by pymilvus the 2.5 way: a text field with an analyzer, a BM25 function
    filling a sparse field, a field with a default value, and two dense vector fields. (Milvus
    Lite 2.5.1 crashes on an insert that leaves a defaulted field out, pymilvus's own included:
    there the collection has no such field.)"""
    server, lite = lite
    defaults = server != "lite-2.5.1"
    from pymilvus import DataType, Function, FunctionType

    daemon = lite_daemon(lite)
    direct = milvus_client(f"http://{lite}")
    name = f"modern_{int(time.time() * 1000)}"
    data, other = vectors(34), vectors(35)
    try:
        schema = direct.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("text", DataType.VARCHAR, max_length=200, enable_analyzer=True)
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        if defaults:
            schema.add_field("lang", DataType.VARCHAR, max_length=8, default_value="en")
        schema.add_field("dense", DataType.FLOAT_VECTOR, dim=DIM)
        schema.add_field("other", DataType.FLOAT_VECTOR, dim=DIM)
        schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["text"],
                                     output_field_names=["sparse"]))
        index = direct.prepare_index_params()
        index.add_index(field_name="dense", index_type="FLAT", metric_type="L2")
        index.add_index(field_name="other", index_type="FLAT", metric_type="L2")
        index.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        direct.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
        with grpc.insecure_channel(daemon.tcp_target) as channel:
            stub = pb2_grpc.VectorDBStub(channel)
            reply = stub.Insert(pb2.WriteRequest(collection=name, columns=[
                int64_column("id", list(range(ROWS))),
                data_pb2.Column(name="text", strings=data_pb2.StringValues(values=[f"row {i} about topic {i % 7}" for i in range(ROWS)])),
                vectors_column("dense", data, DIM), vectors_column("other", other, DIM)]), timeout=60)
            assert reply.count == ROWS
            with pytest.raises(grpc.RpcError) as ambiguous:
                typed_search(stub, name, data[3], limit=5)
            assert ambiguous.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "name one in vector_field" in ambiguous.value.details()
            for field, rows in [("dense", data), ("other", other)]:
                outputs = ["lang"] if defaults else []
                hits = typed_search(stub, name, rows[3], limit=5, vector_field=field, output_fields=outputs)
                answer = direct.search(name, data=[rows[3]], anns_field=field, limit=5, output_fields=outputs,
                                       consistency_level="Strong")
                assert list(hits.ids.int_ids) == [hit["id"] for hit in answer[0]]
                assert hits.ids.int_ids[0] == 3
                if defaults:
                    assert column_values(hits.fields[0]) == ["en"] * 5  # the default filled in by Milvus
            stub.DropCollection(pb2.CollectionRequest(collection=name), timeout=60)
    finally:
        assert daemon.stop() == 0, daemon.log_text()
