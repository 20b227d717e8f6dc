import Logging
import MilvusClient
import Testing
import VDBMDomain
import VDBMProtobuf
import VDBMUtils
@testable import VDBMManager

/// A read Milvus refuses as "not loaded": UNAVAILABLE while Milvus loads the collection by
/// itself, FAILED_PRECONDITION otherwise, from one shared load-state lookup.
@Suite struct LoadStateProbesTests {
    private let deadline = Deadline.after(.seconds(10))
    private let refusal = VectorDBError.notLoaded("collection 'docs' is not loaded: load it first (Milvus: collection not loaded)")

    private func withDocs(loadState: Int32, progress: Int64 = 40) async throws -> (MockMilvus, VectorDBManager) {
        let milvus = MockMilvus()
        let manager = VectorDBManager(milvus: milvus, logger: Logger(label: "test"))
        try await manager.createCollection(CollectionSpec(name: "docs", dimension: 2, metric: .l2), deadline: deadline)
        milvus.state.withLock {
            $0.loadStates = [loadState]
            $0.loadingProgress = progress
        }
        return (milvus, manager)
    }

    @Test func aSearchWhileMilvusLoadsIsUnavailableWithTheProgress() async throws {
        let (milvus, manager) = try await withDocs(loadState: 2, progress: 40)
        milvus.state.withLock { $0.failures["search"] = [refusal] }
        await #expect(throws: VectorDBError.unavailable("Milvus is loading collection 'docs' (40%); retry shortly")) {
            _ = try await manager.search(SearchRequest(collection: "docs", vectors: [1, 2]), deadline: deadline)
        }
    }

    @Test func aSearchOfACollectionNobodyLoadsIsStillLoadItFirst() async throws {
        let (milvus, manager) = try await withDocs(loadState: 1)
        milvus.state.withLock { $0.failures["search"] = [refusal] }
        await #expect(throws: VectorDBError.failedPrecondition(
            "collection 'docs' is not loaded: load it first (Milvus: collection not loaded)")) {
            _ = try await manager.search(SearchRequest(collection: "docs", vectors: [1, 2]), deadline: deadline)
        }
        #expect(milvus.calls("loadingProgress") == 0)
    }

    @Test func queriesGetsAndCountsAreTreatedAlike() async throws {
        let (milvus, manager) = try await withDocs(loadState: 2, progress: 0)
        milvus.state.withLock { $0.failures["query"] = [refusal, refusal, refusal] }
        let loading = VectorDBError.unavailable("Milvus is loading collection 'docs' (0%); retry shortly")
        await #expect(throws: loading) { _ = try await manager.query("docs", filter: "id > 1", deadline: deadline) }
        await #expect(throws: loading) { _ = try await manager.get("docs", ids: .int64s([1]), deadline: deadline) }
        await #expect(throws: loading) { _ = try await manager.count("docs", deadline: deadline) }
    }

    @Test func whenTheLoadStateCannotBeReadMilvussVerdictStands() async throws {
        let (milvus, manager) = try await withDocs(loadState: 2)
        milvus.state.withLock {
            $0.failures["search"] = [refusal]
            $0.failures["loadState"] = [.unavailable("connection refused")]
        }
        await #expect(throws: VectorDBError.failedPrecondition(
            "collection 'docs' is not loaded: load it first (Milvus: collection not loaded)")) {
            _ = try await manager.search(SearchRequest(collection: "docs", vectors: [1, 2]), deadline: deadline)
        }
    }

    @Test func refusedReadsShareOneLookupWhileItIsFresh() async throws {
        let (milvus, manager) = try await withDocs(loadState: 2)
        milvus.state.withLock { $0.failures["search"] = Array(repeating: refusal, count: 8) }
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    _ = try? await manager.search(SearchRequest(collection: "docs", vectors: [1, 2]), deadline: deadline)
                }
            }
        }
        #expect(milvus.calls("search") == 8)
        #expect(milvus.calls("loadState") == 1 && milvus.calls("loadingProgress") == 1)
    }

    @Test func aLookupServesForItsLifetimeThenIsMadeAgain() async {
        let probes = LoadStateProbes()
        let start = ContinuousClock.now
        let reads = Counter()
        let read: @Sendable () async -> LoadStateProbes.Reading? = {
            await reads.add()
            return LoadStateProbes.Reading(state: .loading, progress: 10)
        }
        _ = await probes.reading(of: "docs", now: start, read: read)
        _ = await probes.reading(of: "docs", now: start + .milliseconds(900), read: read)
        #expect(await reads.value == 1)
        _ = await probes.reading(of: "docs", now: start + LoadStateProbes.lifetime, read: read)
        _ = await probes.reading(of: "other", now: start + LoadStateProbes.lifetime, read: read)
        #expect(await reads.value == 3)
    }

    @Test func progressIsShownWithinZeroToAHundred() {
        func message(_ progress: Int64?) -> VectorDBError {
            LoadStateProbes.error(collection: "c", refusal: "r", reading: .init(state: .loading, progress: progress))
        }
        #expect(message(250) == .unavailable("Milvus is loading collection 'c' (100%); retry shortly"))
        #expect(message(-7) == .unavailable("Milvus is loading collection 'c' (0%); retry shortly"))
        #expect(message(nil) == .unavailable("Milvus is loading collection 'c'; retry shortly"))
        #expect(LoadStateProbes.error(collection: "c", refusal: "r", reading: .init(state: .loaded)) == .failedPrecondition("r"))
    }

    private actor Counter {
        var value = 0
        func add() { value += 1 }
    }
}
