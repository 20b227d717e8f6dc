import NIOCore
import VDBMUtils

/// The server's state for one unary call on one HTTP/2 stream.
///
/// A class, owned by its connection handler and used only on that handler's event loop: every
/// nghttp2 callback updates it in place, with no copy of its buffers.
final class ServerStream {
    enum Phase {
        /// Headers and the message are arriving.
        case receiving
        /// The handler is running off the event loop.
        case dispatched
        /// A response (or error) has been submitted; later input is ignored.
        case responded
    }

    var phase = Phase.receiving
    var headers = RequestHeaders()
    var deframer: MessageDeframer
    var message: [UInt8]?
    var handler: UnaryHandler?
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
    /// The observers were told that the call ended.
    var reported = false
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
    }
}
