import NIOCore
import VDBMUtils

/// The server's state for one call on one HTTP/2 stream.
///
/// A class, owned by its connection handler and used only on that handler's event loop: every
/// nghttp2 callback updates it in place, with no copy of its buffers.
final class ServerStream {
    /// Which events may still act on the call, and what they lead to.
    var machine = ServerStreamStateMachine()
    var headers = RequestHeaders()
    var deframer: MessageDeframer
    var message: [UInt8]?
    var handler: MethodHandler?
    /// Present for streaming calls (`MethodHandler.streaming`).
    var streaming: StreamingState?
    var deadline: Deadline?
    var timer: Scheduled<Void>?
    var task: Task<Void, Never>?
    /// Bytes of this call held against the server's `RequestMemoryBudget`.
    var reservedBytes = 0
    /// The method's index in the router's `methodPaths`, once routed (the observers were then
    /// told that the call started).
    var methodIndex: Int?
    /// Bytes of the request message, once it was complete.
    var requestBytes = 0
    /// The call's request id, once made (the access log and the response headers share it).
    var requestID: String?
    /// The call's trace context, once made (its handler and its server span share it).
    var trace: TraceContext?
    let startedAt: ContinuousClock.Instant

    init(maxMessageBytes: Int, startedAt: ContinuousClock.Instant) {
        self.deframer = MessageDeframer(maxMessageBytes: maxMessageBytes)
        self.startedAt = startedAt
    }

    /// Stops the deadline timer and the handler task, if any.
    func cancelWork() {
        timer?.cancel()
        timer = nil
        task?.cancel()
        task = nil
        streaming?.failWaiters()
    }
}

/// What a streaming call holds beside `ServerStream`: request messages the handler has not read
/// yet, DATA bytes not yet released to the client's flow-control window, and a handler waiting
/// to read or to write.
final class StreamingState {
    var inbound = CircularBuffer<[UInt8]>()
    /// DATA bytes received while `inbound` was not empty: given back to the client's window
    /// (`NGHTTP2Session.consume`) when the handler has read everything queued.
    var unconsumedBytes = 0
    var messagesReceived = 0
    var reader: EventLoopPromise<[UInt8]?>?
    var writer: EventLoopPromise<Void>?
    var responseBytes = 0

    /// A handler waiting on a read or write learns that the call is over.
    func failWaiters() {
        let ended = GRPCStatus(.cancelled, "the call has ended")
        reader?.fail(ended)
        reader = nil
        writer?.fail(ended)
        writer = nil
    }
}
