import NIOCore

/// What a streaming call's handler reads from and writes to: its connection handler, reached on
/// the connection's event loop. Implemented by `GRPCServerConnectionHandler`.
protocol StreamingCallEndpoint: AnyObject {
    /// The stream's next request message, `nil` once the client has finished sending.
    func nextRequest(_ streamID: Int32) -> EventLoopFuture<[UInt8]?>
    /// Queues one response message; the future completes when the handler may write again.
    func writeResponse(_ streamID: Int32, _ message: [UInt8]) -> EventLoopFuture<Void>
}

/// The request messages of a streaming call, in order. Iteration ends when the client
/// half-closes; it throws when the call has ended (deadline, cancellation, a broken message).
/// Reading is what opens the client's flow-control window again.
public struct RequestMessages: AsyncSequence, Sendable {
    public typealias Element = [UInt8]

    private let endpoint: NIOLoopBound<any StreamingCallEndpoint>
    private let streamID: Int32

    init(endpoint: NIOLoopBound<any StreamingCallEndpoint>, streamID: Int32) {
        self.endpoint = endpoint
        self.streamID = streamID
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let endpoint: NIOLoopBound<any StreamingCallEndpoint>
        let streamID: Int32
        var finished = false

        public mutating func next() async throws -> [UInt8]? {
            guard !finished else { return nil }
            let endpoint = self.endpoint
            let streamID = self.streamID
            let future = endpoint.eventLoop.inEventLoop
                ? endpoint.value.nextRequest(streamID)
                : endpoint.eventLoop.flatSubmit { endpoint.value.nextRequest(streamID) }
            let message = try await future.get()
            if message == nil { finished = true }
            return message
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(endpoint: endpoint, streamID: streamID)
    }
}

/// Sends the response messages of a streaming call. The response headers leave with the first
/// message; the trailers when the handler returns or throws.
public struct ResponseWriter: Sendable {
    private let endpoint: NIOLoopBound<any StreamingCallEndpoint>
    private let streamID: Int32

    init(endpoint: NIOLoopBound<any StreamingCallEndpoint>, streamID: Int32) {
        self.endpoint = endpoint
        self.streamID = streamID
    }

    /// Queues `message`; waits while the client has more than a bounded amount left to read.
    /// Throws `CANCELLED` (or the call's ending status) once the call is over.
    public func write(_ message: [UInt8]) async throws {
        let endpoint = self.endpoint
        let streamID = self.streamID
        let future = endpoint.eventLoop.inEventLoop
            ? endpoint.value.writeResponse(streamID, message)
            : endpoint.eventLoop.flatSubmit { endpoint.value.writeResponse(streamID, message) }
        try await future.get()
    }
}
