import VDBMUtils

/// The client span of one attempt of a Milvus call, inside a sampled call: its `traceparent`
/// goes to Milvus, so Milvus's own spans hang below it. `nil` outside a sampled call.
struct MilvusCallSpan {
    private let recorder: SpanRecorder
    private var record: SpanRecord
    /// The `traceparent` header naming this span.
    let traceparent: String

    init?(method: String, endpoint: String, attempt: Int, collection: String?) {
        guard let trace = TraceContext.current, let recorder = trace.recorder else { return nil }
        let spanID = TraceContext.newSpanID()
        var attributes: [(key: String, value: SpanRecord.Value)] = [
            ("rpc.system", .string("grpc")), ("rpc.service", .string("milvus.proto.milvus.MilvusService")),
            ("rpc.method", .string(method)), ("server.address", .string(endpoint)),
            ("vdbm.milvus.attempt", .int(Int64(attempt))), ("vdbm.milvus.retry", .bool(attempt > 1)),
        ]
        if let collection { attributes.append(("vdbm.collection", .string(collection))) }
        self.recorder = recorder
        self.traceparent = trace.traceparent(spanID: spanID)
        record = SpanRecord(trace: trace, spanID: spanID, parentSpanID: trace.spanID,
                            name: "milvus.proto.milvus.MilvusService/\(method)", kind: .client,
                            startNanos: WallClock.nanoseconds(), attributes: attributes)
    }

    /// Ends the span: `error` says why the attempt failed (a transport failure or Milvus's status).
    func end(error: String? = nil) {
        var record = record
        record.endNanos = WallClock.nanoseconds()
        record.error = error
        recorder.record(record)
    }
}
