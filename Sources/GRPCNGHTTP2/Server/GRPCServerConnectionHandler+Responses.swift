import NIOCore
import VDBMUtils

/// How calls end on the wire: a unary response, a trailers-only status, an HTTP refusal; the
/// memory and window a call held given back; the observers told once.
extension GRPCServerConnectionHandler {
    private static let responseHeaderFields = [(":status", "200"), ("content-type", "application/grpc")]
    static let successHeaders = StaticHeaderBlock(responseHeaderFields)
    static let okTrailers = StaticHeaderBlock([("grpc-status", "0")])

    /// Ends a call: a unary call's response message, or (for a streaming call, where `.success`
    /// only means OK) its trailers; a failure as a trailers-only response if no headers left yet.
    func respond(_ streamID: Int32, _ stream: ServerStream, _ result: Result<[UInt8], GRPCStatus>,
                         extraHeaders: [(String, String)] = []) {
        let failure: GRPCStatus? = if case .failure(let status) = result { status } else { nil }
        guard let session, let ending = stream.machine.end(succeeded: failure == nil) else { return }
        stream.cancelWork()
        releaseBudget(stream, streamID: streamID)
        connection.responseSent()
        switch (ending, result) {
        case (.streamingTrailers(let sendHeaders, let discardingQueued), _):
            endStreamingResponse(streamID, stream, session, failure: failure, sendHeaders: sendHeaders,
                                 discardingQueued: discardingQueued)
        case (_, .success(let message)):
            let headers = StaticHeaderBlockAndField(block: Self.successHeaders, name: "x-request-id",
                                                    value: requestID(streamID, stream))
            session.submitResponse(streamID: streamID, headers: headers, message: message, trailers: Self.okTrailers)
            report(streamID, stream, code: .ok, responseBytes: message.count)
        case (_, .failure(let status)):
            var headers = HeaderFields(Self.responseHeaderFields)
            headers.add("x-request-id", requestID(streamID, stream), indexed: false)
            headers.add("grpc-status", String(status.code.rawValue))
            if !status.message.isEmpty {
                headers.add("grpc-message", PercentEncoding.encode(status.message))
            }
            for (name, value) in extraHeaders { headers.add(name, value) }
            session.submitHeadersOnly(streamID: streamID, headers: headers)
            report(streamID, stream, code: status.code, message: status.message)
        }
        flushSoon()
    }

    func respondHTTPError(_ streamID: Int32, _ stream: ServerStream, status: Int) {
        guard let session, stream.machine.refuseHTTP() else { return }
        releaseBudget(stream, streamID: streamID)
        var headers = HeaderFields([(":status", String(status))])
        if status == 405 { headers.add("allow", "POST") }
        session.submitHeadersOnly(streamID: streamID, headers: headers)
        report(streamID, stream, code: nil, httpStatus: status)
        flush()
    }

    func releaseBudget(_ stream: ServerStream, streamID: Int32) {
        budget.release(stream.reservedBytes)
        stream.reservedBytes = 0
        stream.deframer = MessageDeframer(maxMessageBytes: 0)  // drop a partial message's bytes now
        stream.message = nil
        if let streaming = stream.streaming {
            streaming.inbound.removeAll()
            // Held back from the client's window: the connection's share must come back.
            session?.consume(streamID: streamID, bytes: streaming.unconsumedBytes)
            streaming.unconsumedBytes = 0
        }
    }

    func requestID(_ streamID: Int32, _ stream: ServerStream) -> String {
        if let known = stream.requestID { return known }
        let made = ServerCallContext.requestID(client: stream.headers.requestID,
                                               traceparent: stream.headers.metadata[text: "traceparent"],
                                               connectionTag: connectionTag, streamID: streamID)
        stream.requestID = made
        return made
    }

    /// Tells the observers that the call ended (exactly once per stream: every path that ends a
    /// stream comes here, marked by `reported`).
    func report(_ streamID: Int32, _ stream: ServerStream, code: GRPCStatus.Code?, message: String = "",
                        httpStatus: Int? = nil, responseBytes: Int = 0) {
        guard stream.machine.reportEnd() else { return }
        if spanRecorder != nil { recordServerSpan(streamID, stream, code: code, message: message, httpStatus: httpStatus) }
        guard !observers.isEmpty else { return }
        let record = CallRecord(
            method: stream.headers.path ?? "", methodIndex: stream.methodIndex, status: code, httpStatus: httpStatus,
            message: message, duration: stream.startedAt.duration(to: .now), peer: peer,
            requestID: requestID(streamID, stream), requestBytes: stream.requestBytes, responseBytes: responseBytes)
        for observer in observers { observer.callFinished(record) }
    }
}
