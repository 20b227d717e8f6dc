import NIOCore

/// When a server connection should go away, as a value type with instants given by the caller
/// (tested without a clock). Long-lived HTTP/2 connections pin clients to one instance behind an
/// L4 balancer, and idle ones hold memory and descriptors for nothing:
/// - **idle**: no stream open for `idleTimeout` → graceful GOAWAY (the connection then closes, as
///   it has nothing in flight);
/// - **age**: `maxAge` after it opened → graceful GOAWAY whatever it carries (calls in flight
///   finish; the client opens a new connection, maybe to another instance), and `maxAgeGrace`
///   later it is closed even if calls are still running.
/// - **preface**: a connection that has not sent its HTTP/2 preface and SETTINGS within
///   `prefaceTimeout` is closed (it does not speak HTTP/2, or it holds a descriptor for nothing).
/// `nil` turns a limit off.
struct ConnectionLifetime {
    enum Action: Equatable {
        /// Start the graceful shutdown (GOAWAY; close once no stream is left).
        case goAway(reason: String)
        /// Close now: the grace after the maximum age is over.
        case close
    }

    let idleTimeout: TimeAmount?
    let maxAge: TimeAmount?
    let maxAgeGrace: TimeAmount
    let prefaceTimeout: TimeAmount?
    private var prefaceReceived = false

    private let openedAt: NIODeadline
    /// Since when no stream has been open (`nil` while some are).
    private var idleSince: NIODeadline?
    private var goingAway = false

    init(idleTimeout: TimeAmount?, maxAge: TimeAmount?, maxAgeGrace: TimeAmount, prefaceTimeout: TimeAmount? = nil,
         openedAt: NIODeadline) {
        self.idleTimeout = idleTimeout
        self.maxAge = maxAge
        self.maxAgeGrace = maxAgeGrace
        self.prefaceTimeout = prefaceTimeout
        self.openedAt = openedAt
        self.idleSince = openedAt
    }

    /// Whether anything here needs a timer at all.
    var isLimited: Bool { idleTimeout != nil || maxAge != nil || prefaceTimeout != nil }

    /// The client's preface and SETTINGS arrived.
    mutating func receivedPreface() { prefaceReceived = true }

    /// The first stream after a quiet spell opened.
    mutating func becameBusy() { idleSince = nil }

    /// The last open stream closed.
    mutating func becameIdle(at now: NIODeadline) { idleSince = now }

    /// What to do at `now`, and when to look again (`nil`: never).
    mutating func check(at now: NIODeadline) -> (action: Action?, next: NIODeadline?) {
        var action: Action?
        if !prefaceReceived, let prefaceTimeout {
            if now >= openedAt + prefaceTimeout { return (.close, nil) }
        }
        if let maxAge {
            if now >= openedAt + maxAge + maxAgeGrace { return (.close, nil) }
            if now >= openedAt + maxAge && !goingAway {
                goingAway = true
                action = .goAway(reason: "max_age")
            }
        }
        if action == nil, !goingAway, let idleTimeout, let idleSince, now >= idleSince + idleTimeout {
            goingAway = true
            action = .goAway(reason: "idle")
        }
        var next: NIODeadline?
        if let maxAge { next = goingAway ? openedAt + maxAge + maxAgeGrace : openedAt + maxAge }
        if !goingAway, let idleTimeout {
            // While busy, look again one timeout from now (it cannot expire sooner).
            let idleDeadline = (idleSince ?? now) + idleTimeout
            next = next.map { min($0, idleDeadline) } ?? idleDeadline
        }
        if !prefaceReceived, let prefaceTimeout {
            next = next.map { min($0, openedAt + prefaceTimeout) } ?? openedAt + prefaceTimeout
        }
        return (action, next)
    }
}
