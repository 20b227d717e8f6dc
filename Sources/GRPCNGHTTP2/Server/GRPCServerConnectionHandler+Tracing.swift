import VDBMUtils

/// Each call's trace context, and the server span of a sampled call (OpenTelemetry's RPC
/// conventions: `rpc.*` attributes, ERROR only for the codes that mean the server failed).
extension GRPCServerConnectionHandler {
    /// The call's trace context: continued from its `traceparent` or new, sampled once.
    func traceContext(_ streamID: Int32, _ stream: ServerStream) -> TraceContext {
        if let trace = stream.trace { return trace }
        let trace = sampledTrace(stream, requestID: ServerCallContext.validClientID(stream.headers.requestID),
                                 fallbackRequestID: "\(connectionTag)-\(streamID)")
        stream.trace = trace
        return trace
    }

    /// The context the request's headers carry (or a new trace), with the sampling decision made.
    private func sampledTrace(_ stream: ServerStream, requestID: String?, fallbackRequestID: String) -> TraceContext {
        let metadata = stream.headers.metadata
        var trace = TraceContext(traceparent: metadata[text: "traceparent"], tracestate: metadata[text: "tracestate"],
                                 requestID: requestID, fallbackRequestID: fallbackRequestID)
        trace.sample(by: spanRecorder)
        return trace
    }

    /// Statuses that mark a server span as failed (the others are the caller's doing).
    private static let serverErrorCodes: Set<GRPCStatus.Code> = [.unknown, .deadlineExceeded, .unimplemented, .internal,
                                                                 .unavailable, .dataLoss]

    func recordServerSpan(_ streamID: Int32, _ stream: ServerStream, code: GRPCStatus.Code?, message: String,
                          httpStatus: Int?) {
        // Answered with no handler task (Health, refusals): no request id is made for the context,
        // which only a handler's logs need (the span takes the response's).
        let trace = stream.trace ?? sampledTrace(stream, requestID: nil, fallbackRequestID: "")
        guard let recorder = trace.recorder else { return }
        let end = WallClock.nanoseconds()
        let (seconds, attoseconds) = stream.startedAt.duration(to: .now).components
        let elapsed = UInt64(max(0, seconds)) &* 1_000_000_000 &+ UInt64(max(0, attoseconds / 1_000_000_000))
        let path = stream.headers.path ?? ""
        let name = path.hasPrefix("/") ? String(path.dropFirst()) : path
        var attributes: [(key: String, value: SpanRecord.Value)] = [("rpc.system", .string("grpc"))]
        if let slash = name.firstIndex(of: "/") {
            attributes.append(("rpc.service", .string(String(name[..<slash]))))
            attributes.append(("rpc.method", .string(String(name[name.index(after: slash)...]))))
        }
        if let code { attributes.append(("rpc.grpc.status_code", .int(Int64(code.rawValue)))) }
        if let httpStatus { attributes.append(("http.response.status_code", .int(Int64(httpStatus)))) }
        attributes.append(("client.address", .string(peer)))
        attributes.append(("vdbm.request_id", .string(requestID(streamID, stream))))
        let failed = code.map { Self.serverErrorCodes.contains($0) } ?? true
        recorder.record(SpanRecord(
            trace: trace, spanID: trace.spanID, parentSpanID: trace.parentSpanID ?? 0, name: name.isEmpty ? "grpc" : name,
            kind: .server, startNanos: end &- min(elapsed, end), endNanos: end, attributes: attributes,
            error: failed ? (message.isEmpty ? "\(code.map { "\($0)" } ?? "HTTP \(httpStatus ?? 0)")" : message) : nil))
    }
}
