import NIOCore

/// The life of one server connection, as a value type: events in (streams opening and closing,
/// PINGs and their ACKs, timers, a shutdown request), actions out; instants come from the caller,
/// so tests need no clock. Modelled on swift-nio-http2's server connection management state
/// machine. It composes `ConnectionLifetime` (idle timeout, maximum age and grace, preface
/// timeout) and `PingStrikes` (keepalive enforcement), and owns the graceful shutdown:
///
/// - `active`: serving.
/// - `draining`: a GOAWAY notice (last stream id 2^31-1) and a PING are out; streams the client
///   sent before it saw the notice are still accepted. The PING's ACK (or `shutdownFallback`
///   later, for a client that never answers) moves on.
/// - `closing`: the final GOAWAY (the last stream really processed) is out; the connection closes
///   once its open streams are done (or at once for a GOAWAY that ends it on error).
struct ServerConnectionStateMachine {
    enum Phase: Equatable {
        case active
        case draining
        case closing
    }

    enum Action: Equatable {
        /// Step one of a graceful shutdown: the GOAWAY notice and a PING; if no ACK comes,
        /// `shutdownFallbackFired` after `shutdownFallback`.
        case sendNoticeAndPing(reason: String)
        /// The final GOAWAY: NO_ERROR after a drain, or ENHANCE_YOUR_CALM "too_many_pings".
        case sendFinalGoAway(tooManyPings: Bool)
        /// Close the connection now (maximum age and grace over, no preface in time).
        case close
    }

    /// How long a client may take to ACK the shutdown PING.
    static let shutdownFallback = TimeAmount.seconds(1)

    private(set) var phase = Phase.active
    private(set) var openStreams = 0
    private var lifetime: ConnectionLifetime
    private var strikes: PingStrikes

    init(lifetime: ConnectionLifetime, minimumPingInterval: TimeAmount) {
        self.lifetime = lifetime
        self.strikes = PingStrikes(minimumInterval: minimumPingInterval)
    }

    /// Whether the lifetime needs timers at all (`timerFired`).
    var hasLifetimeLimits: Bool { lifetime.isLimited }

    /// Once the final GOAWAY is out, the connection closes when its last stream is done.
    var shouldClose: Bool { phase == .closing && openStreams == 0 }

    mutating func prefaceReceived() { lifetime.receivedPreface() }

    mutating func streamOpened() {
        if openStreams == 0 { lifetime.becameBusy() }
        openStreams += 1
    }

    mutating func streamClosed(at now: NIODeadline) {
        openStreams = max(0, openStreams - 1)
        if openStreams == 0 { lifetime.becameIdle(at: now) }
    }

    /// A response went out: PINGs from this client are welcome again.
    mutating func responseSent() { strikes.sentResponse() }

    /// The server is shutting down (or a limit ran out): start the graceful shutdown, once.
    mutating func quiesce(reason: String = "shutdown") -> Action? {
        guard phase == .active else { return nil }
        phase = .draining
        return .sendNoticeAndPing(reason: reason)
    }

    /// The ACK of our shutdown PING: the client has seen the notice.
    mutating func pingAckReceived() -> Action? {
        finishDrain()
    }

    /// No ACK in time: finish the shutdown anyway.
    mutating func shutdownFallbackFired() -> Action? {
        finishDrain()
    }

    private mutating func finishDrain() -> Action? {
        guard phase == .draining else { return nil }
        phase = .closing
        return .sendFinalGoAway(tooManyPings: false)
    }

    /// A PING from the client at `now`: the third strike while idle ends the connection.
    mutating func pingReceived(at now: NIODeadline) -> Action? {
        guard strikes.received(at: now, openStreams: openStreams), phase != .closing else { return nil }
        phase = .closing
        return .sendFinalGoAway(tooManyPings: true)
    }

    /// The lifetime timer at `now`: what to do, and when to look again (`nil`: never).
    mutating func timerFired(at now: NIODeadline) -> (action: Action?, next: NIODeadline?) {
        let (decision, next) = lifetime.check(at: now)
        switch decision {
        case .goAway(let reason): return (quiesce(reason: reason), next)
        case .close: return (.close, nil)
        case nil: return (nil, next)
        }
    }
}
