import NIOCore
import Testing
@testable import GRPCNGHTTP2

/// The connection's life with instants chosen by the test: no clock, no sleeping.
@Suite struct ServerConnectionStateMachineTests {
    private let t0 = NIODeadline.uptimeNanoseconds(7_000_000_000_000)
    private func at(_ s: Int64) -> NIODeadline { t0 + .seconds(s) }

    private func machine(idle: Int64? = nil, maxAge: Int64? = nil, preface: Int64? = nil,
                         pingInterval: Int64 = 300) -> ServerConnectionStateMachine {
        ServerConnectionStateMachine(
            lifetime: ConnectionLifetime(idleTimeout: idle.map { .seconds($0) }, maxAge: maxAge.map { .seconds($0) },
                                         maxAgeGrace: .seconds(30), prefaceTimeout: preface.map { .seconds($0) }, openedAt: t0),
            minimumPingInterval: .seconds(pingInterval))
    }

    @Test func aShutdownDrainsThenSendsTheFinalGoAwayOnTheAckOnce() {
        var connection = machine()
        connection.streamOpened()
        #expect(connection.quiesce() == .sendNoticeAndPing(reason: "shutdown"))
        #expect(connection.quiesce() == nil)  // once
        #expect(connection.phase == .draining && !connection.shouldClose)
        #expect(connection.pingAckReceived() == .sendFinalGoAway(tooManyPings: false))
        #expect(connection.shutdownFallbackFired() == nil)  // the ACK came first
        #expect(!connection.shouldClose)  // a call is still running
        connection.streamClosed(at: at(1))
        #expect(connection.shouldClose)
    }

    @Test func aClientThatNeverAcksGetsTheFinalGoAwayFromTheFallback() {
        var connection = machine()
        _ = connection.quiesce()
        #expect(connection.shutdownFallbackFired() == .sendFinalGoAway(tooManyPings: false))
        #expect(connection.pingAckReceived() == nil)
        #expect(connection.shouldClose)
    }

    @Test func anAckOutsideAShutdownDoesNothing() {
        var connection = machine()
        #expect(connection.pingAckReceived() == nil)
        #expect(connection.phase == .active)
    }

    @Test func idlePingsAreStruckAndTheThirdStrikeEndsTheConnection() {
        var connection = machine()
        #expect(connection.pingReceived(at: at(0)) == nil)  // the first is free
        #expect(connection.pingReceived(at: at(1)) == nil)
        #expect(connection.pingReceived(at: at(2)) == nil)
        #expect(connection.pingReceived(at: at(3)) == .sendFinalGoAway(tooManyPings: true))
        #expect(connection.shouldClose)
        #expect(connection.quiesce() == nil)
    }

    @Test func pingsDuringCallsOrAfterAResponseAreFine() {
        var connection = machine()
        connection.streamOpened()
        for second in 0..<10 { #expect(connection.pingReceived(at: at(Int64(second))) == nil) }
        connection.streamClosed(at: at(10))
        #expect(connection.pingReceived(at: at(11)) == nil)
        #expect(connection.pingReceived(at: at(12)) == nil)
        connection.responseSent()  // clears the strikes
        #expect(connection.pingReceived(at: at(13)) == nil)
        #expect(connection.pingReceived(at: at(14)) == nil)
        #expect(connection.pingReceived(at: at(15)) == .sendFinalGoAway(tooManyPings: true))
    }

    @Test func anIdleLimitStartsTheDrainAndTheAgeLimitCloses() {
        var idle = machine(idle: 60)
        #expect(idle.timerFired(at: at(10)) == (nil, at(60)))
        #expect(idle.timerFired(at: at(60)) == (.sendNoticeAndPing(reason: "idle"), nil))
        #expect(idle.phase == .draining)

        var old = machine(maxAge: 100)
        old.streamOpened()
        #expect(old.timerFired(at: at(100)) == (.sendNoticeAndPing(reason: "max_age"), at(130)))
        #expect(old.pingAckReceived() == .sendFinalGoAway(tooManyPings: false))
        #expect(old.timerFired(at: at(130)) == (.close, nil))  // the grace is over, calls or not
    }

    @Test func noPrefaceInTimeCloses() {
        var silent = machine(preface: 10)
        #expect(silent.hasLifetimeLimits)
        #expect(silent.timerFired(at: at(10)) == (.close, nil))
        var polite = machine(preface: 10)
        polite.prefaceReceived()
        #expect(polite.timerFired(at: at(10)) == (nil, nil))
        #expect(!machine().hasLifetimeLimits)
    }
}
