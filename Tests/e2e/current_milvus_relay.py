"""A relay in front of a real Milvus that makes its Search answers look like a current Milvus's:
every call is forwarded byte for byte (with its metadata), and each successful SearchResults
gains `all_search_count` (SearchResultData field 9), which Milvus 2.4 and later set on every
search. Milvus 2.3.5 is the newest full server that installs here; this is how the tests see
what vdbm does with a 2.4+ answer. It also counts the searches that reach Milvus."""
import threading
from concurrent import futures

import grpc
from pymilvus.grpc_gen import milvus_pb2

# The rows of the segments searched, as Milvus would say; any positive number will do.
ALL_SEARCH_COUNT = 4321
# Headers grpcio sets itself; everything else (authorization, dbname, ...) is passed on.
OWN_HEADERS = {"user-agent", "content-type", "te", "grpc-accept-encoding", "grpc-timeout"}


class CurrentMilvusRelay(grpc.GenericRpcHandler):
    def __init__(self, upstream):
        self.upstream = grpc.insecure_channel(upstream)
        self.lock = threading.Lock()
        self.searches = []  # nq of each Search forwarded
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=64))
        self.server.add_generic_rpc_handlers([self])
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.address = f"127.0.0.1:{self.port}"
        self.server.start()

    def stop(self):
        self.server.stop(grace=None)
        self.upstream.close()

    def service(self, handler_call_details):
        method = handler_call_details.method
        call = self.upstream.unary_unary(method)

        def forward(request, context):
            metadata = [(key, value) for key, value in context.invocation_metadata()
                        if not key.startswith(":") and key not in OWN_HEADERS]
            try:
                reply = call(request, metadata=metadata, timeout=context.time_remaining())
            except grpc.RpcError as error:
                context.abort(error.code(), error.details())
            if method.endswith("/Search"):
                reply = self.current(request, reply)
            return reply

        return grpc.unary_unary_rpc_method_handler(forward)

    def current(self, request, reply):
        with self.lock:
            self.searches.append(milvus_pb2.SearchRequest.FromString(request).nq)
        answer = milvus_pb2.SearchResults.FromString(reply)
        if answer.status.code != 0 or not answer.HasField("results"):
            return reply
        answer.results.all_search_count = ALL_SEARCH_COUNT
        return answer.SerializeToString()
