import NIOCore
import Synchronization

/// What a streaming call's handler reads from and writes to: its connection handler, reached on
/// the connection's event loop. Implemented by `GRPCServerConnectionHandler`.
protocol StreamingCallEndpoint: AnyObject {
    /// The stream's next request message, `nil` once the client has finished sending.
    func nextRequest(_ streamID: Int32) -> EventLoopFuture<[UInt8]?>
    /// Queues one response message; the future completes when the handler may write again.
    func writeResponse(_ streamID: Int32, _ message: [UInt8]) -> EventLoopFuture<Void>
}

/// The request messages of a call, in order. Iteration ends when the client half-closes; it
/// throws when the call has ended (deadline, cancellation, a broken message). For a streaming
/// call, reading is what opens the client's flow-control window again; a unary call's one
/// message is already here.
public struct RequestMessages: AsyncSequence, Sendable {
    public typealias Element = [UInt8]

    enum Source: Sendable {
        case stream(NIOLoopBound<any StreamingCallEndpoint>, Int32)
        case single([UInt8])
    }

    let source: Source

    init(endpoint: NIOLoopBound<any StreamingCallEndpoint>, streamID: Int32) {
        source = .stream(endpoint, streamID)
    }

    /// A unary call's request: exactly `message`.
    public init(single message: [UInt8]) {
        source = .single(message)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let source: Source
        var finished = false

        public mutating func next() async throws -> [UInt8]? {
            guard !finished else { return nil }
            switch source {
            case .single(let message):
                finished = true
                return message
            case .stream(let endpoint, let streamID):
                let future = endpoint.eventLoop.inEventLoop
                    ? endpoint.value.nextRequest(streamID)
                    : endpoint.eventLoop.flatSubmit { endpoint.value.nextRequest(streamID) }
                let message = try await future.get()
                if message == nil { finished = true }
                return message
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(source: source)
    }

    /// The first request message; a call that sent none ends with INTERNAL.
    public func first() async throws -> [UInt8] {
        var iterator = makeAsyncIterator()
        guard let message = try await iterator.next() else {
            throw GRPCStatus(.internal, "the call received no request message")
        }
        return message
    }
}

/// Sends the response messages of a call. For a streaming call the response headers leave with
/// the first message and the trailers when the handler returns or throws; a unary call's one
/// response is kept until its handler returns.
public struct ResponseWriter: Sendable {
    enum Sink: Sendable {
        case stream(NIOLoopBound<any StreamingCallEndpoint>, Int32)
        case single(UnaryResponse)
    }

    let sink: Sink

    init(endpoint: NIOLoopBound<any StreamingCallEndpoint>, streamID: Int32) {
        sink = .stream(endpoint, streamID)
    }

    /// A unary call's response: what is written goes into `response`.
    public init(single response: UnaryResponse) {
        sink = .single(response)
    }

    /// Queues `message`; waits while the client has more than a bounded amount left to read.
    /// Throws `CANCELLED` (or the call's ending status) once the call is over, and INTERNAL for a
    /// second response to a unary call.
    public func write(_ message: [UInt8]) async throws {
        switch sink {
        case .single(let response):
            try response.set(message)
        case .stream(let endpoint, let streamID):
            let future = endpoint.eventLoop.inEventLoop
                ? endpoint.value.writeResponse(streamID, message)
                : endpoint.eventLoop.flatSubmit { endpoint.value.writeResponse(streamID, message) }
            try await future.get()
        }
    }
}

/// The one response message of a unary call, written once through its ``ResponseWriter``.
public final class UnaryResponse: Sendable {
    private let message = Mutex<[UInt8]?>(nil)

    public init() {}

    func set(_ response: [UInt8]) throws(GRPCStatus) {
        let first = message.withLock { stored in
            guard stored == nil else { return false }
            stored = response
            return true
        }
        guard first else { throw GRPCStatus(.internal, "a unary method answered more than once") }
    }

    /// What the handler wrote; INTERNAL when it wrote nothing.
    public func take() throws(GRPCStatus) -> [UInt8] {
        guard let response = message.withLock({ $0.take() }) else {
            throw GRPCStatus(.internal, "a unary method ended without an answer")
        }
        return response
    }
}
