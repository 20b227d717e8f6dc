"""vdbm behind a scripted Milvus that answers searches with counts that do not add up (each kind
independent testing found): vdbm stays up, vdbm.v1 callers get INTERNAL naming what disagrees,
pass-through callers get Milvus's own answer relayed untouched, and a good answer afterwards is
served as before (merged through the pass-through)."""
import grpc
import pytest
from pymilvus.grpc_gen import milvus_pb2, milvus_pb2_grpc

from conftest import Daemon, health_check, outcomes_in_threads
from grpc_health.v1 import health_pb2
from scripted_milvus import COLLECTION, DIM, MALFORMED_SEARCH_MODES, ScriptedMilvus, milvus_search_request, search_answer
from vdbm_api import data_pb2, int64_column, pb2, pb2_grpc, string_column, vectors_column

CALLERS = 8


@pytest.fixture(scope="module")
def scripted():
    milvus = ScriptedMilvus()
    daemon = Daemon(env={"VDBM_MILVUS_ENDPOINTS": milvus.address, "VDBM_LOGGING_ACCESS_LOG": "false"})
    yield milvus, daemon
    try:
        assert daemon.stop() == 0, daemon.log_text()
    finally:
        milvus.stop()


def vector(index):
    return [0.1 * index, 1.0 - 0.1 * index]


def searches_through_both_apis(daemon):
    with grpc.insecure_channel(daemon.tcp_target) as channel:
        passthrough = milvus_pb2_grpc.MilvusServiceStub(channel)
        typed = pb2_grpc.VectorDBStub(channel)
        relayed = outcomes_in_threads(CALLERS, lambda i: passthrough.Search(milvus_search_request(vector(i)), timeout=10))
        answered = outcomes_in_threads(CALLERS, lambda i: typed.Search(pb2.SearchRequest(
            collection=COLLECTION, vectors=data_pb2.FloatVectors(dimension=DIM, values=vector(i)), limit=2,
            output_fields=["title"]), timeout=10))
    return relayed, answered


@pytest.mark.parametrize("mode", MALFORMED_SEARCH_MODES)
def test_a_malformed_search_answer_is_internal_through_vdbm_v1_and_relayed_through_the_pass_through(scripted, mode):
    milvus, daemon = scripted
    milvus.mode = mode
    relayed, answered = searches_through_both_apis(daemon)
    assert daemon.process.poll() is None, daemon.log_text()[-3000:]
    for reply in relayed:
        # Not merged (it cannot be cut): each caller gets what Milvus answered its own search.
        assert isinstance(reply, milvus_pb2.SearchResults), reply
        assert reply.SerializeToString() == search_answer(1, mode).SerializeToString()
    for error in answered:
        assert isinstance(error, grpc.RpcError), error
        assert error.code() == grpc.StatusCode.INTERNAL, (error.code(), error.details())
        assert error.details().startswith("Milvus sent a malformed search answer: "), error.details()
    assert health_check(daemon.tcp_target) == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize("mode, problem", [("insert_count_negative", "insert count -1 for 2 rows sent"),
                                           ("insert_ids_short", "1 ids for 2 rows sent")])
def test_an_insert_answer_counting_other_rows_is_internal(scripted, mode, problem):
    milvus, daemon = scripted
    milvus.mode = mode
    with grpc.insecure_channel(daemon.tcp_target) as channel:
        with pytest.raises(grpc.RpcError) as refused:
            pb2_grpc.VectorDBStub(channel).Insert(pb2.WriteRequest(collection=COLLECTION, columns=[
                int64_column("id", [1, 2]), vectors_column("vector", [vector(1), vector(2)], DIM),
                string_column("title", ["a", "b"])]), timeout=10)
    assert refused.value.code() == grpc.StatusCode.INTERNAL
    assert refused.value.details() == f"Milvus sent a malformed insert answer: {problem}"


def test_after_the_malformed_answers_good_ones_are_served_and_merged(scripted):
    milvus, daemon = scripted
    milvus.mode = "good"
    with milvus.lock:
        milvus.searches.clear()
    relayed, answered = searches_through_both_apis(daemon)
    for index, reply in enumerate(relayed):
        assert isinstance(reply, milvus_pb2.SearchResults), reply
        assert reply.results.num_queries == 1 and list(reply.results.topks) == [2]
    for reply in answered:
        assert isinstance(reply, pb2.SearchResponse), reply
        assert [len(result.ids.int_ids) for result in reply.results] == [2]
    with milvus.lock:
        searched = list(milvus.searches)
    print(f"{2 * CALLERS} client searches reached the scripted Milvus as {len(searched)} searches: {searched}")
    assert sum(searched) == 2 * CALLERS
    assert len(searched) < 2 * CALLERS  # some merged
