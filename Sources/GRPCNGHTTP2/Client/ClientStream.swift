import NIOCore

/// The client's state for one unary call on one HTTP/2 stream; owned by its connection handler
/// and used only on that handler's event loop.
final class ClientStream {
    let promise: EventLoopPromise<GRPCClientResponse>
    var headersSent = false
    var responseHeaders: [String: String] = [:]
    var trailers: [String: String] = [:]
    var deframer: MessageDeframer
    var message: [UInt8]?
    var failure: GRPCCallError?
    /// When the call fails with DEADLINE_EXCEEDED unless answered (the connection's deadline timer).
    let deadline: NIODeadline

    init(promise: EventLoopPromise<GRPCClientResponse>, maxResponseBytes: Int, deadline: NIODeadline) {
        self.promise = promise
        self.deadline = deadline
        self.deframer = MessageDeframer(maxMessageBytes: maxResponseBytes)
    }

    /// The call's outcome once the stream has closed with `errorCode`.
    func outcome(errorCode: UInt32, refusedByGoAway: Bool) -> Result<GRPCClientResponse, GRPCCallError> {
        if let failure { return .failure(failure) }
        if errorCode == NGHTTP2Session.refusedStreamErrorCode || refusedByGoAway {
            return .failure(.notProcessed("stream refused by the server"))
        }
        // A trailers-only response carries the status in its only header block.
        let fields = trailers.isEmpty ? responseHeaders : trailers
        guard let statusText = fields["grpc-status"] else {
            if errorCode != 0 {
                return .failure(.connectionLost("stream reset by the server (HTTP/2 error \(errorCode))"))
            }
            if let httpStatus = responseHeaders[":status"], httpStatus != "200" {
                return .failure(.malformedResponse("HTTP status \(httpStatus) without grpc-status"))
            }
            return .failure(.malformedResponse("response ended without grpc-status"))
        }
        guard let number = Int(statusText), let code = GRPCStatus.Code(rawValue: number) else {
            return .failure(.malformedResponse("unknown grpc-status \(statusText)"))
        }
        let status = GRPCStatus(code, PercentEncoding.decode(fields["grpc-message"] ?? ""))
        if code == .ok {
            if deframer.hasPartialMessage { return .failure(.malformedResponse("response ended inside a message")) }
            guard let message else { return .failure(.malformedResponse("OK response without a message")) }
            return .success(GRPCClientResponse(status: status, message: message))
        }
        return .success(GRPCClientResponse(status: status, message: nil))
    }
}
