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
