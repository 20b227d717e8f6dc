import VDBMDomain
import Foundation
import Logging
import MilvusClient
import NIOPosix
import Testing
import VDBMUtils
@testable import VDBMManager

/// Runs `scripts/milvus` (the same script the test setup uses) to stop or start a server.
/// `system(3)`, not Foundation's `Process`: its `waitUntilExit` can miss the child's exit when
/// called from a task, and the test then waits forever.
private func milvusScript(_ arguments: String...) throws {
    var root = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    root.removeLast(3)
    let command = root.joined(separator: "/") + "/scripts/milvus " + arguments.joined(separator: " ")
    guard system(command) == 0 else { throw VectorDBError.internal("\(command) failed") }
}

/// Milvus stopped in the middle: calls fail with `unavailable` within their deadline, nothing
/// hangs; Milvus started again: the same manager works again, reconnected by its pool.
/// Here on Milvus Lite; the same cycle on Milvus 2.3.5 runs through the whole daemon in
/// Tests/e2e/test_milvus_restart.py.
/// Run alone (it stops the shared server): RUN_FAULT_TESTS=1.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["RUN_FAULT_TESTS"] == "1", "needs RUN_FAULT_TESTS=1"), .serialized)
struct MilvusFaultTests {
    @Test func callsFailFastWhileMilvusLiteIsDownAndRecoverWithoutARestart() async throws {
        let kind = "lite"
        guard let address = ProcessInfo.processInfo.environment["MILVUS_LITE_ADDRESS"] else { return }
        func note(_ text: String) { print("fault test [\(kind)] \(ContinuousClock.now): \(text)") }
        let (manager, pool) = await LiveMilvus.manager(address)
        let name = LiveMilvus.uniqueName("vdbm_fault")
        try await manager.createCollection(CollectionSpec(name: name, dimension: 4, index: IndexSpec(type: "FLAT"), load: true),
                                           deadline: .after(.seconds(60)))
        _ = try await manager.insert(name, entities: Entities(["id": .int64s([1]), "vector": .floatVectors(dimension: 4, values: [1, 2, 3, 4])]),
                                     deadline: .after(.seconds(30)))
        let search = SearchRequest(collection: name, vectors: [1, 2, 3, 4], limit: 1, consistency: .strong)
        #expect(try await manager.search(search, deadline: .after(.seconds(30)))[0].hits.first?.id == .int64(1))

        note("stopping Milvus")
        try milvusScript("stop", kind)
        note("stopped")
        for _ in 0..<5 {
            let started = ContinuousClock.now
            await #expect {
                _ = try await manager.search(search, deadline: .after(.seconds(3)))
            } throws: { error in
                switch error as? VectorDBError {
                case .unavailable, .deadlineExceeded: true
                default: false
                }
            }
            #expect(started.duration(to: .now) < .seconds(4), "a call outlived its deadline")
        }

        note("calls failed as expected")
        note("starting Milvus")
        try milvusScript("start", kind)
        note("started")
        var recovered = false
        for _ in 0..<120 where !recovered {
            // Milvus Lite comes back with its collections released: load, then search.
            try? await manager.load(name, deadline: .after(.seconds(5)))
            recovered = (try? await manager.search(search, deadline: .after(.seconds(5))))?[0].hits.first?.id == .int64(1)
            if !recovered { try await Task.sleep(for: .milliseconds(500)) }
        }
        note("recovered: \(recovered)")
        #expect(recovered, "the pool did not reconnect to the restarted Milvus")
        try await manager.dropCollection(name, deadline: .after(.seconds(30)))
        await pool.shutdown()
    }
}

/// Milvus 2.3.5 started with `--authorization-enabled true` (scripts/test does, and sets
/// MILVUS_AUTH=true): the right credentials work, wrong or missing ones are `unauthenticated`.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["MILVUS_AUTH"] == "true"
                && ProcessInfo.processInfo.environment["MILVUS_ADDRESS"] != nil, "needs MILVUS_AUTH=true"))
struct MilvusAuthTests {
    private func manager(_ credentials: MilvusCredentials?) -> (VectorDBManager, MilvusConnectionPool) {
        let parts = ProcessInfo.processInfo.environment["MILVUS_ADDRESS"]!.split(separator: ":")
        let pool = MilvusConnectionPool(
            configuration: .init(endpoints: [MilvusEndpoint(host: String(parts[0]), port: Int(parts[1])!)]),
            group: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "test"))
        let client = MilvusClient(pool: pool, credentials: credentials, logger: Logger(label: "test"))
        return (VectorDBManager(milvus: client, logger: Logger(label: "test")), pool)
    }

    @Test func rightCredentialsWork() async throws {
        let (manager, pool) = manager(.password(user: "root", password: "Milvus"))
        _ = try await manager.listCollections(deadline: .after(.seconds(30)))
        await pool.shutdown()
    }

    @Test(arguments: [MilvusCredentials.password(user: "root", password: "wrong"), .password(user: "nobody", password: "x")])
    func wrongCredentialsAreUnauthenticated(credentials: MilvusCredentials) async throws {
        let (manager, pool) = manager(credentials)
        await #expect {
            _ = try await manager.listCollections(deadline: .after(.seconds(30)))
        } throws: { error in
            switch error as? VectorDBError {
            case .unauthenticated, .permissionDenied: true
            default: false
            }
        }
        await pool.shutdown()
    }

    @Test func missingCredentialsAreUnauthenticated() async throws {
        let (manager, pool) = manager(nil)
        await #expect {
            _ = try await manager.listCollections(deadline: .after(.seconds(30)))
        } throws: { error in
            if case .unauthenticated = error as? VectorDBError { return true }
            return false
        }
        await pool.shutdown()
    }
}
