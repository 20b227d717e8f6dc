import Foundation
import Logging
import MilvusClient
import NIOPosix
import Testing

/// The pool's routing with outlier ejection, on real connections: two endpoints that are the same
/// Milvus under two names (127.0.0.1 and localhost), one of them fed failures. The ejection's time
/// runs on the pool's clock, moved by the test.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["MILVUS_ADDRESS"] != nil, "needs MILVUS_ADDRESS"))
struct OutlierEjectionIntegrationTests {
    @Test func anEjectedEndpointTakesNoCallUntilItsOneProbeSucceeds() async throws {
        let port = Int(ProcessInfo.processInfo.environment["MILVUS_ADDRESS"]!.split(separator: ":")[1])!
        var configuration = MilvusConnectionPool.Configuration(
            endpoints: [MilvusEndpoint(host: "127.0.0.1", port: port), MilvusEndpoint(host: "localhost", port: port)],
            connectionsPerEndpoint: 1)
        configuration.outliers = .init(consecutiveFailures: 3, baseEjection: .milliseconds(300))
        let clock = MockPoolClock()
        let pool = MilvusConnectionPool(configuration: configuration, group: MultiThreadedEventLoopGroup.singleton,
                                        logger: Logger(label: "test"), clock: clock)
        await pool.start()
        for _ in 0..<500 where await pool.snapshot.readyConnections < 2 { try await Task.sleep(for: .milliseconds(20)) }
        #expect(await pool.snapshot.readyConnections == 2)

        // Ties go to the first endpoint: fail it three times.
        let first = try #require(pool.readyConnection())
        for _ in 0..<3 { pool.recordOutcome(first, success: false) }
        for _ in 0..<20 { #expect(pool.readyConnection()?.target != first.target) }

        // Still ejected just before the backoff ends, by the pool's clock.
        clock.advance(by: .milliseconds(299))
        #expect(pool.readyConnection()?.target != first.target)
        // After the backoff, one call (the probe) goes to it, the next ones elsewhere until it reports.
        clock.advance(by: .milliseconds(101))
        #expect(pool.readyConnection()?.target == first.target)
        for _ in 0..<20 { #expect(pool.readyConnection()?.target != first.target) }
        pool.recordOutcome(first, success: true)
        #expect(pool.readyConnection()?.target == first.target)
        await pool.shutdown()
    }
}
