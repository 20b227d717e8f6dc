"""A scripted fake Milvus for answers no real Milvus sends: a grpcio server on a free port that
answers the few MilvusService calls vdbm makes for one collection, and answers Search (and
Insert) as the test sets `mode`. Messages are built with pymilvus's own generated classes."""
import struct
import threading
import time
from concurrent import futures

import grpc
from pymilvus.grpc_gen import common_pb2, milvus_pb2, schema_pb2

COLLECTION = "scripted"
DIM = 2
INT64_MAX = 2**63 - 1


def ok():
    return common_pb2.Status(error_code=0, code=0)


def search_answer(nq, mode):
    """Milvus's answer to a search of `nq` query vectors, 2 hits each, with a `title` column,
    spoiled as `mode` says ("good" leaves it well formed)."""
    hits = 2 * nq
    data = schema_pb2.SearchResultData(num_queries=nq, top_k=2, topks=[2] * nq, scores=[0.1 * i for i in range(hits)])
    data.ids.int_id.data.extend(range(100, 100 + hits))
    title = data.fields_data.add(type=schema_pb2.DataType.VarChar, field_name="title")
    title.scalars.string_data.data.extend(f"t{i}" for i in range(hits))
    if mode == "topks_near_int64_max":
        data.topks[0] = INT64_MAX
    elif mode == "topks_summing_past_int64_max":
        data.topks[:] = [2**62] * max(nq, 2)
    elif mode == "negative_topk":
        data.topks[-1] = -1
    elif mode == "huge_num_queries":
        data.num_queries = INT64_MAX
    elif mode == "negative_num_queries":
        data.num_queries = -5
    elif mode == "fewer_topks_than_queries":
        del data.topks[-1]
    elif mode == "fewer_ids_than_topks_say":
        del data.ids.int_id.data[-1]
    elif mode == "fewer_scores_than_ids":
        del data.scores[-1]
    elif mode == "a_column_short":
        del title.scalars.string_data.data[-1]
    elif mode == "vector_rows_overflowing":
        vector = data.fields_data.add(type=schema_pb2.DataType.FloatVector, field_name="vector")
        vector.vectors.dim = 2**62
        vector.vectors.float_vector.data.extend([1.0] * hits)
    elif mode == "empty_answer":
        return milvus_pb2.SearchResults(status=ok())
    elif mode == "no_hits_claimed_with_ids":
        data.topks[:] = [0] * nq
    return milvus_pb2.SearchResults(status=ok(), results=data)


MALFORMED_SEARCH_MODES = [
    "topks_near_int64_max", "topks_summing_past_int64_max", "negative_topk", "huge_num_queries",
    "negative_num_queries", "fewer_topks_than_queries", "fewer_ids_than_topks_say", "fewer_scores_than_ids",
    "a_column_short", "vector_rows_overflowing", "empty_answer", "no_hits_claimed_with_ids",
]


class ScriptedMilvus:
    def __init__(self):
        self.mode = "good"
        self.lock = threading.Lock()
        self.searches = []  # nq of each Search it answered
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
        self.server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
            "milvus.proto.milvus.MilvusService", {name: self._unary(name, request, handler) for name, (request, handler) in {
                "ShowCollections": (milvus_pb2.ShowCollectionsRequest, self.show_collections),
                "HasCollection": (milvus_pb2.HasCollectionRequest, lambda _: milvus_pb2.BoolResponse(status=ok(), value=True)),
                "DescribeCollection": (milvus_pb2.DescribeCollectionRequest, self.describe_collection),
                "GetVersion": (milvus_pb2.GetVersionRequest, lambda _: milvus_pb2.GetVersionResponse(status=ok(), version="v2.3.5")),
                "CheckHealth": (milvus_pb2.CheckHealthRequest, lambda _: milvus_pb2.CheckHealthResponse(status=ok(), isHealthy=True)),
                "GetLoadState": (milvus_pb2.GetLoadStateRequest, lambda _: milvus_pb2.GetLoadStateResponse(status=ok(), state=3)),
                "Search": (milvus_pb2.SearchRequest, self.search),
                "Insert": (milvus_pb2.InsertRequest, self.insert),
            }.items()})])
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.address = f"127.0.0.1:{self.port}"
        self.server.start()

    @staticmethod
    def _unary(name, request, handler):
        return grpc.unary_unary_rpc_method_handler(lambda message, context: handler(message),
                                                   request_deserializer=request.FromString,
                                                   response_serializer=lambda reply: reply.SerializeToString())

    def stop(self):
        self.server.stop(grace=None)

    def show_collections(self, _):
        return milvus_pb2.ShowCollectionsResponse(status=ok(), collection_names=[COLLECTION])

    def describe_collection(self, request):
        schema = schema_pb2.CollectionSchema(name=COLLECTION, fields=[
            schema_pb2.FieldSchema(fieldID=100, name="id", is_primary_key=True, data_type=schema_pb2.DataType.Int64),
            schema_pb2.FieldSchema(fieldID=101, name="vector", data_type=schema_pb2.DataType.FloatVector,
                                   type_params=[common_pb2.KeyValuePair(key="dim", value=str(DIM))]),
            schema_pb2.FieldSchema(fieldID=102, name="title", data_type=schema_pb2.DataType.VarChar,
                                   type_params=[common_pb2.KeyValuePair(key="max_length", value="8")]),
        ])
        return milvus_pb2.DescribeCollectionResponse(status=ok(), schema=schema, collectionID=1, shards_num=1,
                                                     collection_name=request.collection_name)

    def search(self, request):
        with self.lock:
            self.searches.append(request.nq)
        time.sleep(0.02)  # a search takes a while, so that concurrent callers pile up and merge
        return search_answer(request.nq, self.mode)

    def insert(self, request):
        rows = request.num_rows
        reply = milvus_pb2.MutationResult(status=ok(), insert_cnt=rows)
        reply.IDs.int_id.data.extend(range(rows))
        if self.mode == "insert_count_negative":
            reply.insert_cnt = -1
        elif self.mode == "insert_ids_short":
            del reply.IDs.int_id.data[-1]
        return reply


def placeholder_group(vector):
    value = common_pb2.PlaceholderValue(tag="$0", type=common_pb2.PlaceholderType.FloatVector,
                                        values=[struct.pack(f"<{len(vector)}f", *vector)])
    return common_pb2.PlaceholderGroup(placeholders=[value]).SerializeToString()


def milvus_search_request(vector):
    """The SearchRequest pymilvus sends for one query vector, top 2, with the title."""
    return milvus_pb2.SearchRequest(
        collection_name=COLLECTION, dsl_type=common_pb2.DslType.BoolExprV1, nq=1, output_fields=["title"],
        placeholder_group=placeholder_group(vector),
        search_params=[common_pb2.KeyValuePair(key="anns_field", value="vector"),
                       common_pb2.KeyValuePair(key="topk", value="2"),
                       common_pb2.KeyValuePair(key="metric_type", value="L2"),
                       common_pb2.KeyValuePair(key="params", value="{}")])
