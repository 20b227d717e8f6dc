import NIOCore

/// When a client connection PINGs its server, as pure decisions (the handler feeds it what it
/// sees and runs the answer). Two reasons to PING:
/// - **Busy**: calls are open and nothing has come in for `busySilence`: a server that is frozen
///   (SIGSTOP, a stuck disk, a long pause) keeps the TCP connection open, so only a PING that goes
///   unanswered shows it, seconds instead of each call's whole deadline.
/// - **Idle**: nothing has come in for `idleInterval`: a connection that died quietly is found
///   before a call is sent on it.
///
/// Milvus's gRPC server (grpc-go, enforcement `MinTime` 5 s) counts a PING as a strike when it
/// comes less than 5 s after the previous one *and* the server sent no HEADERS or DATA between
/// them; the third strike closes the connection with GOAWAY `too_many_pings` (seen with Milvus
/// 2.3.5: PINGs every 4 s are cut off after the fourth, every 5.5 s are not). So a PING leaves
/// only when the server sent stream frames since the previous one, or `minimumSpacing` after it.
/// Milvus 2.3.5 answers no PING on a connection that has carried no call, so none is sent before
/// the first answer.
struct KeepalivePolicy {
    var idleInterval: TimeAmount
    var busySilence: TimeAmount
    var minimumSpacing: TimeAmount

    /// The server answered a call on this connection: PINGs are answered from now on.
    private(set) var hasAnswered = false
    private var lastInbound: NIODeadline
    private var lastPing: NIODeadline?
    private var streamFramesSincePing = false

    init(idleInterval: TimeAmount, busySilence: TimeAmount, minimumSpacing: TimeAmount, now: NIODeadline) {
        self.idleInterval = idleInterval
        self.busySilence = busySilence
        self.minimumSpacing = minimumSpacing
        self.lastInbound = now
    }

    /// Bytes came in (any frame, PING ACKs included).
    mutating func received(at now: NIODeadline) { lastInbound = now }

    /// The first call after a quiet spell started: silence counts from here (a call that just left
    /// has had no time to be answered).
    mutating func callsStarted(at now: NIODeadline) { lastInbound = max(lastInbound, now) }

    /// The server sent HEADERS or DATA on a stream (what resets grpc-go's strike count).
    mutating func receivedStreamFrame() { streamFramesSincePing = true }

    /// A call was answered on this connection.
    mutating func answered() { hasAnswered = true }

    /// What to do at `now` with `openCalls` calls in flight: PING or not, and when to ask again.
    mutating func check(at now: NIODeadline, openCalls: Int) -> (ping: Bool, nextCheck: NIODeadline) {
        let silence = openCalls > 0 ? busySilence : idleInterval
        guard hasAnswered else { return (false, now + silence) }
        let due = lastInbound + silence
        guard now >= due else { return (false, due) }
        if !streamFramesSincePing, let lastPing, now < lastPing + minimumSpacing {
            return (false, lastPing + minimumSpacing)
        }
        pinged(at: now)
        return (true, now + silence)
    }

    /// A PING left (from `check`, or asked for by the pool).
    mutating func pinged(at now: NIODeadline) {
        lastPing = now
        streamFramesSincePing = false
    }
}
