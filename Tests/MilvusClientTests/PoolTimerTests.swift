import Logging
import MilvusClient
import NIOPosix
import Testing
import VDBMUtils
import Foundation

/// The pool's timers on a clock the test moves: a waiter's deadline passes without the test
/// sleeping for it.
@Suite struct PoolTimerTests {
    @Test func aWaiterFailsWhenTheClockPassesItsDeadline() async throws {
        // An endpoint that accepts connections and never answers: its slot stays connecting, so
        // calls wait for it.
        let silent = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(silent) }
        var address = sockaddr_in(sin_family: sa_family_t(AF_INET), sin_port: 0, sin_addr: in_addr(s_addr: inet_addr("127.0.0.1")),
                                  sin_zero: (0, 0, 0, 0, 0, 0, 0, 0))
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(silent, $0, length) } }
        _ = listen(silent, 16)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(silent, $0, &length) } }
        let port = Int(UInt16(bigEndian: address.sin_port))

        let clock = MockPoolClock()
        let pool = MilvusConnectionPool(
            configuration: .init(endpoints: [MilvusEndpoint(host: "127.0.0.1", port: port)], connectionsPerEndpoint: 1,
                                 readinessProbe: MilvusReadinessProbe(timeout: .seconds(600))),
            group: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "test"), clock: clock)
        let deadline = Deadline(clock.now + .seconds(30))
        let started = ContinuousClock.now
        let call = Task { try await pool.connection(deadline: deadline) }
        while clock.sleepers == 0 { try await Task.sleep(for: .milliseconds(5)) }  // its deadline timer is armed
        clock.advance(by: .seconds(29))
        #expect(await pool.snapshot.waitingCalls == 1)
        clock.advance(by: .seconds(1))
        await #expect(throws: PoolFailure.deadlineExceeded) { try await call.value }
        #expect(started.duration(to: .now) < .seconds(10))  // 30 s of pool time, far less of ours
        await pool.shutdown()
    }
}
