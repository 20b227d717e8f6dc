"""An OTLP/gRPC trace receiver for benchmarks (not a test): accepts every Export on 127.0.0.1:PORT
and counts the spans; prints the count when it gets SIGTERM or SIGINT.
    .venv/bin/python scripts/otlp_sink.py PORT"""
import signal
import sys
import threading
from concurrent import futures

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

spans = 0
lock = threading.Lock()


def export(request, context):
    global spans
    count = sum(len(scope.spans) for resource in request.resource_spans for scope in resource.scope_spans)
    with lock:
        spans += count
    return trace_service_pb2.ExportTraceServiceResponse()


def main():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    handler = grpc.unary_unary_rpc_method_handler(
        export, request_deserializer=trace_service_pb2.ExportTraceServiceRequest.FromString,
        response_serializer=trace_service_pb2.ExportTraceServiceResponse.SerializeToString)
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
        "opentelemetry.proto.collector.trace.v1.TraceService", {"Export": handler})])
    server.add_insecure_port(f"127.0.0.1:{sys.argv[1]}")
    server.start()
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    server.stop(0)
    print(f"otlp_sink: {spans} spans received", flush=True)


if __name__ == "__main__":
    main()
