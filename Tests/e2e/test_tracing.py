"""OpenTelemetry tracing end to end: a vdbm with `tracing.otlp_endpoint` set sends its spans over
OTLP/gRPC to a collector stand-in built on the official protos (PyPI opentelemetry-proto) and
grpcio, with Milvus 2.3.5 behind it. A traced Search's spans join the caller's trace; merged
searches carry a batch span linked to each caller's span; a collector that is down costs spans,
never calls."""
import math
import threading
import time
import urllib.request
from concurrent import futures

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from conftest import MILVUS_ADDRESS, Daemon, free_port
from vdbm_api import data_pb2, int64_column, pb2, pb2_grpc, vectors_column

DIM, ROWS = 8, 200
SERVER, CLIENT, INTERNAL = (trace_pb2.Span.SPAN_KIND_SERVER, trace_pb2.Span.SPAN_KIND_CLIENT,
                            trace_pb2.Span.SPAN_KIND_INTERNAL)


class Collector:
    """An OTLP/gRPC trace receiver: keeps every span of every Export call."""

    def __init__(self):
        self.spans = []
        self.lock = threading.Lock()
        self.port = free_port()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        handler = grpc.unary_unary_rpc_method_handler(
            self.export, request_deserializer=trace_service_pb2.ExportTraceServiceRequest.FromString,
            response_serializer=trace_service_pb2.ExportTraceServiceResponse.SerializeToString)
        self.server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
            "opentelemetry.proto.collector.trace.v1.TraceService", {"Export": handler})])
        self.server.add_insecure_port(f"127.0.0.1:{self.port}")
        self.server.start()

    def export(self, request, context):
        with self.lock:
            for resource_spans in request.resource_spans:
                names = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        self.spans.append((names, span))
        return trace_service_pb2.ExportTraceServiceResponse()

    def wait_for(self, predicate, timeout=15):
        """The spans, once `predicate(spans)` holds (the exporter sends once a second)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                spans = [span for _, span in self.spans]
            if predicate(spans) or time.monotonic() > deadline:
                return spans
            time.sleep(0.1)


def vector(i):
    return [math.sin(i * 0.37 + k * 1.3) for k in range(DIM)]


def attributes(span):
    values = {}
    for pair in span.attributes:
        kind = pair.value.WhichOneof("value")
        values[pair.key] = getattr(pair.value, kind)
    return values


def traceparent(trace_id, parent_id, sampled=True):
    return f"00-{trace_id}-{parent_id}-{'01' if sampled else '00'}"


@pytest.fixture(scope="module")
def collector():
    receiver = Collector()
    yield receiver
    receiver.server.stop(0)


@pytest.fixture(scope="module")
def traced(collector):
    daemon = Daemon(env={"VDBM_TRACING_OTLP_ENDPOINT": f"127.0.0.1:{collector.port}",
                         "VDBM_TRACING_SERVICE_NAME": "vdbm-e2e", "VDBM_LOGGING_ACCESS_LOG": "false"})
    yield daemon
    assert daemon.stop() == 0, daemon.log_text()


@pytest.fixture(scope="module")
def collection(traced):
    with grpc.insecure_channel(traced.tcp_target) as channel:
        stub = pb2_grpc.VectorDBStub(channel)
        name = f"e2e_tracing_{int(time.time() * 1000)}"
        stub.CreateCollection(pb2.CreateCollectionRequest(
            collection=name, dimension=DIM, consistency=data_pb2.CONSISTENCY_STRONG,
            index=pb2.IndexSpec(type="HNSW", params=[data_pb2.Param(key="M", value=16),
                                                     data_pb2.Param(key="efConstruction", value=64)])), timeout=120)
        stub.Insert(pb2.WriteRequest(collection=name, columns=[
            int64_column("id", list(range(ROWS))), vectors_column("vector", [vector(i) for i in range(ROWS)], DIM)]),
            timeout=60)
        stub.LoadCollection(pb2.CollectionRequest(collection=name), timeout=120)
        yield name
        stub.DropCollection(pb2.CollectionRequest(collection=name), timeout=60)


def search(stub, name, i, metadata=()):
    return stub.Search(pb2.SearchRequest(collection=name, vectors=data_pb2.FloatVectors(dimension=DIM, values=vector(i)),
                                         limit=3), metadata=metadata, timeout=30)


def test_a_traced_search_joins_the_callers_trace(traced, collector, collection):
    trace_id, parent_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    with grpc.insecure_channel(traced.tcp_target) as channel:
        stub = pb2_grpc.VectorDBStub(channel)
        reply = search(stub, collection, 5, metadata=[("traceparent", traceparent(trace_id, parent_id))])
        assert list(reply.results[0].ids.int_ids)[0] == 5
        unsampled = "0af7651916cd43dd8448eb211c80319c"
        search(stub, collection, 6, metadata=[("traceparent", traceparent(unsampled, "b7ad6b7169203331", False))])

    def ours(spans):
        return [s for s in spans if s.trace_id.hex() == trace_id]

    spans = ours(collector.wait_for(
        lambda spans: any(s.kind == CLIENT and s.name.endswith("/Search") for s in ours(spans))))
    servers = [s for s in spans if s.kind == SERVER]
    assert len(servers) == 1, spans
    server = servers[0]
    assert server.name == "vdbm.v1.VectorDB/Search"
    assert server.parent_span_id.hex() == parent_id
    assert server.status.code != trace_pb2.Status.STATUS_CODE_ERROR
    assert server.start_time_unix_nano <= server.end_time_unix_nano
    assert abs(server.end_time_unix_nano / 1e9 - time.time()) < 60
    server_attributes = attributes(server)
    assert server_attributes["rpc.service"] == "vdbm.v1.VectorDB" and server_attributes["rpc.method"] == "Search"
    assert server_attributes["rpc.grpc.status_code"] == 0
    assert server_attributes["vdbm.request_id"] == trace_id
    assert server_attributes["client.address"].startswith("127.0.0.1:")

    milvus_searches = [s for s in spans if s.kind == CLIENT and s.name == "milvus.proto.milvus.MilvusService/Search"]
    assert len(milvus_searches) == 1, spans
    client = milvus_searches[0]
    assert client.parent_span_id == server.span_id
    assert client.span_id != server.span_id
    assert server.start_time_unix_nano <= client.start_time_unix_nano <= client.end_time_unix_nano \
        <= server.end_time_unix_nano
    client_attributes = attributes(client)
    assert client_attributes["server.address"] == MILVUS_ADDRESS
    assert client_attributes["vdbm.milvus.attempt"] == 1 and client_attributes["vdbm.milvus.retry"] is False
    assert client_attributes["vdbm.collection"] == collection
    # Everything vdbm did for the call hangs below its server span.
    assert all(s.parent_span_id == server.span_id for s in spans if s is not server)
    with collector.lock:
        resources = {names.get("service.name") for names, _ in collector.spans}
    assert resources == {"vdbm-e2e"}
    # A caller that did not sample its trace gets no spans.
    assert not [s for s in collector.wait_for(lambda _: False, timeout=1.5) if s.trace_id.hex() == unsampled]


def test_merged_searches_carry_a_batch_span_linked_to_each_caller(traced, collector, collection):
    callers = 32
    for attempt in range(3):
        traces = {f"{attempt + 1:02x}{c + 1:030x}": f"{c + 1:016x}" for c in range(callers)}  # (all-zero ids are invalid)
        start = threading.Barrier(callers)

        def call(trace_id, index):
            with grpc.insecure_channel(traced.tcp_target) as channel:
                stub = pb2_grpc.VectorDBStub(channel)
                start.wait()
                for round_ in range(4):
                    search(stub, collection, index + round_, metadata=[("traceparent", traceparent(trace_id, traces[trace_id]))])

        threads = [threading.Thread(target=call, args=(t, i)) for i, t in enumerate(traces)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        spans = collector.wait_for(lambda spans: sum(
            1 for s in spans if s.kind == SERVER and s.trace_id.hex() in traces) >= callers * 4)
        servers = {(s.trace_id, s.span_id): s for s in spans if s.kind == SERVER and s.trace_id.hex() in traces}
        assert len(servers) == callers * 4
        assert all(s.parent_span_id.hex() == traces[s.trace_id.hex()] for s in servers.values())
        batches = [s for s in spans if s.name == "vdbm.search.batch"
                   and any((link.trace_id, link.span_id) in servers for link in s.links)]
        if batches:
            break
    assert batches, "no search of 32 concurrent callers was merged in three tries"
    for batch in batches:
        assert batch.kind == INTERNAL and not batch.parent_span_id
        assert batch.trace_id.hex() not in traces  # a trace of its own
        links = [(link.trace_id, link.span_id) for link in batch.links]
        assert len(links) == len(set(links)) and all(link in servers for link in links)
        assert attributes(batch)["vdbm.batch.members"] == len(links) >= 1
        # The merged Milvus search is the batch span's child, in the batch's trace.
        children = [s for s in spans if s.parent_span_id == batch.span_id]
        assert [c.name for c in children] == ["milvus.proto.milvus.MilvusService/Search"]
        assert children[0].trace_id == batch.trace_id
    # Every linked caller's own trace has its server span and no Milvus search of its own.
    linked = {link for batch in batches for link in ((l.trace_id, l.span_id) for l in batch.links)}
    for trace_id, span_id in linked:
        assert not [s for s in spans if s.trace_id == trace_id and s.parent_span_id == span_id
                    and s.name.endswith("/Search")]


def test_a_collector_that_is_down_costs_spans_never_calls(collection):
    closed = free_port()
    daemon = Daemon(env={"VDBM_TRACING_OTLP_ENDPOINT": f"127.0.0.1:{closed}", "VDBM_LOGGING_ACCESS_LOG": "false"})
    try:
        with grpc.insecure_channel(daemon.tcp_target) as channel:
            stub = pb2_grpc.VectorDBStub(channel)
            for i in range(20):
                assert list(search(stub, collection, i).results[0].ids.int_ids)[0] == i
        dropped = 0
        deadline = time.monotonic() + 15
        while dropped == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
            text = urllib.request.urlopen(f"http://127.0.0.1:{daemon.admin_port}/metrics", timeout=5).read().decode()
            dropped = sum(float(line.split()[-1]) for line in text.splitlines()
                          if line.startswith("vdbm_trace_spans_dropped_total"))
        assert dropped >= 20
        warnings = [r for r in daemon.log_records() if r.get("msg", "").startswith("trace export failed")]
        assert len(warnings) == 1, warnings  # one warning per run of failures, not one per batch
    finally:
        assert daemon.stop() == 0, daemon.log_text()


def test_the_last_calls_spans_leave_at_shutdown(collector):
    daemon = Daemon(env={"VDBM_TRACING_OTLP_ENDPOINT": f"127.0.0.1:{collector.port}", "VDBM_LOGGING_ACCESS_LOG": "false"})
    trace_id = "7a0000000000000000000000000000b1"
    with grpc.insecure_channel(daemon.tcp_target) as channel:
        stub = pb2_grpc.VectorDBStub(channel)
        stub.ListCollections(pb2.ListCollectionsRequest(), metadata=[("traceparent", traceparent(trace_id, "00000000000000c1"))],
                             timeout=10)
    # At once, before the exporter's one-second interval is over: the span leaves on the way out.
    assert daemon.stop() == 0, daemon.log_text()
    spans = [s for s in collector.wait_for(lambda spans: any(s.trace_id.hex() == trace_id for s in spans), timeout=5)
             if s.trace_id.hex() == trace_id]
    assert [s.name for s in spans if s.kind == SERVER] == ["vdbm.v1.VectorDB/ListCollections"]
    assert any(r.get("msg") == "trace export stopped" for r in daemon.log_records())
