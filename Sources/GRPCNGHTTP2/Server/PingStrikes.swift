import NIOCore

/// Keepalive enforcement on the server, as gRPC does it: a PING that arrives while no call is
/// open, sooner than `minimumInterval` after the previous one, is a strike, and the third strike
/// ends the connection with GOAWAY ENHANCE_YOUR_CALM "too_many_pings". Sending a response resets
/// the count (a busy client may PING as it likes). nghttp2 answers every PING by itself and caps
/// a flood of unanswered ACKs; this bounds the pinging of an idle client.
struct PingStrikes {
    let minimumInterval: TimeAmount
    let maxStrikes = 2
    private var lastPing: NIODeadline?
    private var strikes = 0

    init(minimumInterval: TimeAmount) {
        self.minimumInterval = minimumInterval
    }

    /// We sent a response: PINGs are welcome again.
    mutating func sentResponse() { strikes = 0 }

    /// A PING arrived at `now` with `openStreams` calls open; true when it is one too many.
    mutating func received(at now: NIODeadline, openStreams: Int) -> Bool {
        defer { lastPing = now }
        guard openStreams == 0, let lastPing, now < lastPing + minimumInterval else { return false }
        strikes += 1
        return strikes > maxStrikes
    }
}
