"""Pass-through search merging against answers shaped as a current Milvus sends them:
- Milvus 2.3.5 behind a relay that adds all_search_count (field 9, set by Milvus 2.4+ on every
  search): 32 pymilvus clients' searches stay merged (Milvus sees at most a quarter of them),
  each gets what the same search gets directly, and raw callers see the field kept;
- Milvus Lite 3.2.2 and 2.5.1, whose grouped searches carry group_by_field_value (field 8):
  concurrent grouped searches merge and give what Lite gives directly.
A merge that falls back is counted in vdbm_passthrough_search_fallbacks_total: here, none."""
import os
import random
import time

import grpc
import pytest
from pymilvus import DataType
from pymilvus.grpc_gen import common_pb2, milvus_pb2, milvus_pb2_grpc

from conftest import LITE_SERVERS, Daemon, in_threads, lite_daemon, milvus_client, outcomes_in_threads
from current_milvus_relay import ALL_SEARCH_COUNT, CurrentMilvusRelay
from scripted_milvus import placeholder_group
from test_passthrough import DIM, direct_client, totals



def vectors(count, seed):
    rng = random.Random(seed)
    return [[rng.uniform(-1, 1) for _ in range(DIM)] for _ in range(count)]


def stable(answer_all):
    """Direct answers, repeated until two passes agree (Milvus's answers move for a few seconds
    after a load)."""
    previous = answer_all()
    for _ in range(20):
        current = answer_all()
        if current == previous:
            return current
        previous = current
        time.sleep(0.5)
    raise AssertionError("direct answers never settled")


def searched_by_clients(daemon, clients, times, search):
    """`clients` pymilvus clients through vdbm at once, each calling search(client, i) `times` times;
    what each got."""
    found = {}

    def client(index):
        mine = milvus_client(f"http://{daemon.tcp_target}")
        found[index] = [search(mine, index) for _ in range(times)]

    errors = in_threads(clients, client)
    assert not errors, errors[:3]
    return found


def hits(result):
    return [[(hit["id"], round(hit["distance"], 4), hit["entity"].get("title")) for hit in one] for one in result]


def test_pass_through_searches_stay_merged_against_answers_with_all_search_count():
    relay = CurrentMilvusRelay(os.environ.get("MILVUS_ADDRESS", "127.0.0.1:19530"))
    daemon = Daemon(env={"VDBM_MILVUS_ENDPOINTS": relay.address, "VDBM_LOGGING_ACCESS_LOG": "false"})
    direct = direct_client()
    name = f"current_{int(time.time() * 1000)}"
    try:
        schema = direct.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
        schema.add_field("title", DataType.VARCHAR, max_length=16)
        index = direct.prepare_index_params()
        index.add_index(field_name="vector", index_type="FLAT", metric_type="L2")
        direct.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
        data = vectors(64, seed=22)
        direct.insert(name, [{"id": i, "vector": v, "title": f"t{i}"} for i, v in enumerate(data)])

        def search(client, index):
            return hits(client.search(name, data=[data[index]], limit=3, output_fields=["title"]))

        expected = stable(lambda: [search(direct, i) for i in range(32)])
        assert all(expected[i][0][0][0] == i for i in range(32))  # each vector finds its own row first
        with relay.lock:
            relay.searches.clear()
        found = searched_by_clients(daemon, 32, 8, search)
        with relay.lock:
            searched = list(relay.searches)
        print(f"\n256 pass-through searches with all_search_count in every answer: {len(searched)} Milvus searches "
              f"carrying {sum(searched)} query vectors")
        assert found == {i: [expected[i]] * 8 for i in range(32)}
        assert sum(searched) == 256
        assert len(searched) <= 256 // 4
        assert totals(daemon, "vdbm_passthrough_search_fallbacks_total") == 0

        # The per-request field reaches every caller of a merged search as Milvus sent it.
        def raw(index):
            request = milvus_pb2.SearchRequest(
                collection_name=name, dsl_type=common_pb2.DslType.BoolExprV1, nq=1, placeholder_group=placeholder_group(data[index]),
                search_params=[common_pb2.KeyValuePair(key="anns_field", value="vector"),
                               common_pb2.KeyValuePair(key="topk", value="3"),
                               common_pb2.KeyValuePair(key="metric_type", value="L2"),
                               common_pb2.KeyValuePair(key="params", value="{}")])
            with grpc.insecure_channel(daemon.tcp_target) as channel:
                return milvus_pb2_grpc.MilvusServiceStub(channel).Search(request, timeout=30)

        replies = outcomes_in_threads(16, raw)
        assert [reply.results.ids.int_id.data[0] for reply in replies] == list(range(16))
        assert {reply.results.all_search_count for reply in replies} == {ALL_SEARCH_COUNT}
    finally:
        try:
            direct.drop_collection(name)
        finally:
            assert daemon.stop() == 0, daemon.log_text()
            relay.stop()


@pytest.mark.parametrize("lite", LITE_SERVERS)
def test_grouped_searches_merge_against_milvus_lite(lite):
    _, lite = lite
    daemon = lite_daemon(lite)
    direct = milvus_client(f"http://{lite}")
    name = f"grouped_{int(time.time() * 1000)}"
    try:
        schema = direct.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
        schema.add_field("doc", DataType.INT64)
        index = direct.prepare_index_params()
        index.add_index(field_name="vector", index_type="FLAT", metric_type="L2")
        direct.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
        data = vectors(64, seed=23)
        direct.insert(name, [{"id": i, "vector": v, "doc": i % 8} for i, v in enumerate(data)])

        def search(client, index):
            result = client.search(name, data=[data[index]], limit=3, group_by_field="doc", output_fields=["doc"])
            return [[(hit["id"], round(hit["distance"], 4), hit["entity"]["doc"]) for hit in one] for one in result]

        expected = stable(lambda: [search(direct, i) for i in range(16)])
        assert all(expected[i][0][0] == (i, 0.0, i % 8) for i in range(16))
        assert all(len({hit[2] for hit in expected[i][0]}) == 3 for i in range(16))  # one hit per group
        before = totals(daemon, "vdbm_milvus_calls_total", method="Search")
        found = searched_by_clients(daemon, 16, 4, search)
        searched = totals(daemon, "vdbm_milvus_calls_total", method="Search") - before
        print(f"\n64 grouped pass-through searches on Milvus Lite: {searched:.0f} Lite searches")
        assert found == {i: [expected[i]] * 4 for i in range(16)}
        assert totals(daemon, "vdbm_passthrough_search_fallbacks_total") == 0
        assert searched < 64
    finally:
        try:
            direct.drop_collection(name)
        finally:
            assert daemon.stop() == 0, daemon.log_text()
