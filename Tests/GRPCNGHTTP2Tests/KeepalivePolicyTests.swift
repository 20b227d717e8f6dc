import NIOCore
import Testing
@testable import GRPCNGHTTP2

/// When a client connection PINGs, with instants chosen by the test (no clock, no sockets).
@Suite struct KeepalivePolicyTests {
    private let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
    private func at(_ ms: Int64) -> NIODeadline { t0 + .milliseconds(ms) }

    private func policy() -> KeepalivePolicy {
        KeepalivePolicy(idleInterval: .seconds(10), busySilence: .seconds(1), minimumSpacing: .seconds(6), now: t0)
    }

    @Test func noPingBeforeTheServerAnsweredACall() {
        var keepalive = policy()
        let (ping, next) = keepalive.check(at: at(60_000), openCalls: 3)
        #expect(!ping && next == at(61_000))
    }

    @Test func anIdleConnectionIsPingedAfterTheIdleInterval() {
        var keepalive = policy()
        keepalive.answered()
        keepalive.received(at: at(0))
        #expect(keepalive.check(at: at(4_000), openCalls: 0) == (false, at(10_000)))
        #expect(keepalive.check(at: at(10_000), openCalls: 0) == (true, at(20_000)))
        // The ACK came; the next PING is one idle interval after it.
        keepalive.received(at: at(10_001))
        #expect(keepalive.check(at: at(20_000), openCalls: 0) == (false, at(20_001)))
        #expect(keepalive.check(at: at(20_001), openCalls: 0).ping)
    }

    @Test func aBusyConnectionIsPingedAfterOneSilentSecond() {
        var keepalive = policy()
        keepalive.answered()
        keepalive.received(at: at(0))
        keepalive.receivedStreamFrame()
        #expect(keepalive.check(at: at(500), openCalls: 2) == (false, at(1_000)))
        #expect(keepalive.check(at: at(1_000), openCalls: 2) == (true, at(2_000)))
    }

    @Test func silenceCountsFromTheFirstCallAfterAQuietSpell() {
        var keepalive = policy()
        keepalive.answered()
        keepalive.received(at: at(0))
        keepalive.callsStarted(at: at(8_000))
        #expect(keepalive.check(at: at(8_500), openCalls: 1) == (false, at(9_000)))
    }

    /// Milvus's grpc-go closes the connection after PINGs closer than 5 s with no response data
    /// between them: a long silent call is PINGed every 6 s, not every second.
    @Test func withoutResponseDataPingsStaySixSecondsApart() {
        var keepalive = policy()
        keepalive.answered()
        keepalive.receivedStreamFrame()
        keepalive.received(at: at(0))
        #expect(keepalive.check(at: at(1_000), openCalls: 1).ping)
        keepalive.received(at: at(1_001))  // the ACK: not stream data
        #expect(keepalive.check(at: at(2_001), openCalls: 1) == (false, at(7_000)))
        #expect(keepalive.check(at: at(7_000), openCalls: 1).ping)
    }

    @Test func responseDataBetweenPingsLiftsTheSpacing() {
        var keepalive = policy()
        keepalive.answered()
        keepalive.receivedStreamFrame()
        keepalive.received(at: at(0))
        #expect(keepalive.check(at: at(1_000), openCalls: 1).ping)
        keepalive.receivedStreamFrame()
        keepalive.received(at: at(1_200))
        #expect(keepalive.check(at: at(2_200), openCalls: 1).ping)
    }
}
