import NIOCore

/// The connection's life: graceful shutdown, PINGs, idle timeout, maximum age and preface
/// timeout, as `ServerConnectionStateMachine` decides them.
extension GRPCServerConnectionHandler {
    /// Two-step GOAWAY (RFC 9113 §6.8): a notice and a PING first, so requests already on the wire
    /// are not lost; when the PING's ACK comes back (the client has seen the notice, and whatever
    /// it sent before is in), the final GOAWAY with the last stream really processed. A client
    /// that does not answer gets the final GOAWAY after a second.
    func beginGracefulShutdown() {
        perform(connection.quiesce())
    }

    func sessionDidReceivePingAck() {
        perform(connection.pingAckReceived())
    }

    func sessionDidReceivePing() {
        perform(connection.pingReceived(at: .now()))
    }

    func sessionDidReceiveSettings() {
        connection.prefaceReceived()
    }

    /// Carries out what the connection state machine decided.
    private func perform(_ action: ServerConnectionStateMachine.Action?) {
        guard let action, let context, let session else { return }
        switch action {
        case .sendNoticeAndPing(let reason):
            if reason != "shutdown" {
                logger.debug("connection going away", metadata: ["peer": "\(peer)", "reason": "\(reason)"])
            }
            session.submitShutdownNotice()
            session.submitPing()
            flush()
            context.eventLoop.assumeIsolated().scheduleTask(in: ServerConnectionStateMachine.shutdownFallback) { [self] in
                perform(connection.shutdownFallbackFired())
            }
        case .sendFinalGoAway(let tooManyPings):
            if tooManyPings {
                logger.debug("client PINGs too often while idle: GOAWAY too_many_pings", metadata: ["peer": "\(peer)"])
                session.submitGoAway(errorCode: NGHTTP2Session.enhanceYourCalm, debugData: "too_many_pings")
            } else {
                session.submitGoAway()
            }
            flush()  // (inside a read it waits for channelReadComplete)
        case .close:
            logger.debug("connection closed: no HTTP/2 preface in time, or its maximum age and grace are over",
                         metadata: ["peer": "\(peer)"])
            context.close(promise: nil)
        }
    }

    // MARK: Connection lifetime

    static func stateMachine(_ limits: GRPCServerLimits, openedAt: NIODeadline) -> ServerConnectionStateMachine {
        ServerConnectionStateMachine(
            lifetime: ConnectionLifetime(idleTimeout: limits.idleTimeout.map { TimeAmount(clamping: $0) },
                                         maxAge: limits.maxConnectionAge.map { TimeAmount(clamping: $0) },
                                         maxAgeGrace: TimeAmount(clamping: limits.maxConnectionAgeGrace),
                                         prefaceTimeout: limits.prefaceTimeout.map { TimeAmount(clamping: $0) }, openedAt: openedAt),
            minimumPingInterval: TimeAmount(clamping: limits.minimumPingInterval))
    }

    /// When the connection becomes active: its lifetime counts from now (nothing has happened on
    /// it yet), and its timer starts if a limit is set.
    func startLifetime() {
        guard !lifetimeStarted else { return }
        lifetimeStarted = true
        connection = Self.stateMachine(limits, openedAt: .now())
        guard connection.hasLifetimeLimits else { return }
        checkLifetime()
    }

    private func checkLifetime() {
        guard let context else { return }
        let (action, next) = connection.timerFired(at: .now())
        perform(action)
        lifetimeTimer?.cancel()
        lifetimeTimer = nil
        guard action != .close else { return }
        lifetimeTimer = next.map { deadline in
            context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in checkLifetime() }
        }
    }
}
