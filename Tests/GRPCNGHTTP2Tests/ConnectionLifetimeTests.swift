import NIOCore
import Testing
@testable import GRPCNGHTTP2

/// Idle timeout and maximum connection age, with instants chosen by the test.
@Suite struct ConnectionLifetimeTests {
    private let t0 = NIODeadline.uptimeNanoseconds(5_000_000_000_000)
    private func at(_ s: Int64) -> NIODeadline { t0 + .seconds(s) }

    @Test func anIdleConnectionGoesAwayAfterTheTimeout() {
        var lifetime = ConnectionLifetime(idleTimeout: .seconds(60), maxAge: nil, maxAgeGrace: .seconds(30), openedAt: t0)
        #expect(lifetime.check(at: t0) == (nil, at(60)))
        #expect(lifetime.check(at: at(60)) == (.goAway(reason: "idle"), nil))
    }

    @Test func openStreamsKeepItAndTheTimeoutCountsFromTheLastOne() {
        var lifetime = ConnectionLifetime(idleTimeout: .seconds(60), maxAge: nil, maxAgeGrace: .seconds(30), openedAt: t0)
        lifetime.becameBusy()
        #expect(lifetime.check(at: at(60)) == (nil, at(120)))  // busy: not idle, look again later
        lifetime.becameIdle(at: at(100))
        #expect(lifetime.check(at: at(120)) == (nil, at(160)))
        #expect(lifetime.check(at: at(160)).action == .goAway(reason: "idle"))
    }

    @Test func anOldConnectionGoesAwayEvenWhenBusyThenClosesAfterTheGrace() {
        var lifetime = ConnectionLifetime(idleTimeout: nil, maxAge: .seconds(300), maxAgeGrace: .seconds(30), openedAt: t0)
        lifetime.becameBusy()
        #expect(lifetime.check(at: at(10)) == (nil, at(300)))
        #expect(lifetime.check(at: at(300)) == (.goAway(reason: "max_age"), at(330)))
        #expect(lifetime.check(at: at(310)) == (nil, at(330)))  // one GOAWAY only
        #expect(lifetime.check(at: at(330)) == (.close, nil))
    }

    @Test func theEarlierLimitComesFirst() {
        var lifetime = ConnectionLifetime(idleTimeout: .seconds(60), maxAge: .seconds(300), maxAgeGrace: .seconds(30), openedAt: t0)
        #expect(lifetime.check(at: at(1)) == (nil, at(60)))
        #expect(lifetime.check(at: at(60)) == (.goAway(reason: "idle"), at(330)))
        #expect(lifetime.check(at: at(300)) == (nil, at(330)))
    }

    @Test func withoutLimitsNothingHappens() {
        var lifetime = ConnectionLifetime(idleTimeout: nil, maxAge: nil, maxAgeGrace: .seconds(30), openedAt: t0)
        #expect(!lifetime.isLimited)
        #expect(lifetime.check(at: at(100_000)) == (nil, nil))
    }

    @Test func aConnectionWithoutAPrefaceIsClosedAtTheTimeout() {
        var silent = ConnectionLifetime(idleTimeout: .seconds(60), maxAge: nil, maxAgeGrace: .seconds(30),
                                        prefaceTimeout: .seconds(10), openedAt: t0)
        #expect(silent.check(at: t0) == (nil, at(10)))
        #expect(silent.check(at: at(10)) == (.close, nil))
        var speaking = ConnectionLifetime(idleTimeout: .seconds(60), maxAge: nil, maxAgeGrace: .seconds(30),
                                          prefaceTimeout: .seconds(10), openedAt: t0)
        speaking.receivedPreface()
        #expect(speaking.check(at: at(10)) == (nil, at(60)))
    }
}

/// gRPC's keepalive enforcement, with instants chosen by the test.
@Suite struct PingStrikesTests {
    private let t0 = NIODeadline.uptimeNanoseconds(5_000_000_000_000)
    private func at(_ s: Int64) -> NIODeadline { t0 + .seconds(s) }

    @Test func idlePingsCloserThanTheIntervalAreStrikesAndTheThirdIsOneTooMany() {
        var strikes = PingStrikes(minimumInterval: .seconds(300))
        // The first PING is free, then strikes 1, 2 and 3.
        let tooMany = (0..<4).map { second in strikes.received(at: at(Int64(second)), openStreams: 0) }
        #expect(tooMany == [false, false, false, true])
    }

    @Test func pingsDuringCallsOrFarApartAreFine() {
        var strikes = PingStrikes(minimumInterval: .seconds(300))
        let busy = (0..<10).map { second in strikes.received(at: at(Int64(second)), openStreams: 1) }
        let apart = (1...5).map { minutes in strikes.received(at: at(Int64(minutes) * 301 + 10), openStreams: 0) }
        #expect(!busy.contains(true) && !apart.contains(true))
    }

    @Test func aResponseResetsTheStrikes() {
        var strikes = PingStrikes(minimumInterval: .seconds(300))
        let before = (0..<3).map { second in strikes.received(at: at(Int64(second)), openStreams: 0) }
        strikes.sentResponse()
        let after = (3..<6).map { second in strikes.received(at: at(Int64(second)), openStreams: 0) }
        #expect(before == [false, false, false] && after == [false, false, true])
    }
}
