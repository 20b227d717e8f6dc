import Logging
import MilvusClient
import Synchronization
import Testing
import VDBMDomain
import VDBMProtobuf
import VDBMUtils
@testable import VDBMManager

/// The coalescer through the manager, with a mock Milvus that answers each query vector (x, y)
/// with one hit whose id is x, and that holds each search for a while so that others pile up.
@Suite struct SearchCoalescingTests {
    private var deadline: Deadline { .after(.seconds(10)) }

    /// Milvus searches that have ended (their delay is over).
    private final class Finished: Sendable {
        let count = Atomic<Int>(0)
        var value: Int { count.load(ordering: .relaxed) }
    }

    private func manager(policy: SearchCoalescingPolicy? = .forTests(),
                         delay: Duration = .milliseconds(30),
                         failure: VectorDBError? = nil, finished: Finished = Finished()) async throws -> (MockMilvus, VectorDBManager) {
        let milvus = MockMilvus()
        milvus.state.withLock { state in
            state.searchHandler = { vectors, dim, _ throws(VectorDBError) in
                try? await Task.sleep(for: delay)
                finished.count.add(1, ordering: .relaxed)
                if let failure { throw failure }
                let ids = stride(from: 0, to: vectors.count, by: dim).map { Int64(vectors[$0]) }
                return MilvusResponse.Search(status: .success, numQueries: Int64(ids.count), topK: 1,
                                             topks: ids.map { _ in 1 }, ids: .int64s(ids), scores: ids.map { _ in 0 }, fields: [])
            }
        }
        let manager = VectorDBManager(milvus: milvus, logger: Logger(label: "test"), searchCoalescing: policy)
        try await manager.createCollection(CollectionSpec(name: "docs", dimension: 2), deadline: deadline)
        try await manager.createCollection(CollectionSpec(name: "other", dimension: 2), deadline: deadline)
        return (milvus, manager)
    }

    private func request(_ ids: [Int], collection: String = "docs", filter: String = "", limit: Int = 1) -> SearchRequest {
        SearchRequest(collection: collection, vectors: ids.flatMap { [Float($0), 0.5] }, limit: limit, filter: filter)
    }

    /// Waits until the first search is under way in Milvus (a busy machine may start tasks late).
    private func untilSearching(_ milvus: MockMilvus) async throws {
        for _ in 0..<500 where milvus.calls("search") == 0 { try await Task.sleep(for: .milliseconds(10)) }
    }

    private func ids(_ results: [SearchResults]) -> [Int64] {
        results.flatMap { result -> [Int64] in if case .int64s(let ids) = result.ids { ids } else { [] } }
    }

    @Test func concurrentSearchesShareMilvusSearchesAndEachGetsItsOwnResults() async throws {
        // Each search takes 200 ms: the 64 callers overlap even on a busy machine.
        let (milvus, manager) = try await manager(delay: .milliseconds(200))
        let answers = try await withThrowingTaskGroup(of: (Int, [Int64]).self) { group in
            for caller in 0..<64 {
                group.addTask { (caller, ids(try await manager.search(request([caller]), deadline: deadline))) }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        #expect(answers == Dictionary(uniqueKeysWithValues: (0..<64).map { ($0, [Int64($0)]) }))
        let sizes = milvus.state.withLock { $0.searchSizes }
        #expect(sizes.reduce(0, +) == 64)
        #expect(sizes.count < 64)
        #expect(sizes.contains { $0 > 1 })
    }

    @Test func multiVectorCallersGetTheirOwnResultSetsInOrder() async throws {
        let (_, manager) = try await manager()
        let answers = try await withThrowingTaskGroup(of: (Int, [Int64]).self) { group in
            for caller in 0..<16 {
                let mine = (0..<(caller % 4 + 1)).map { caller * 10 + $0 }
                group.addTask { (caller, ids(try await manager.search(request(mine), deadline: deadline))) }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        for caller in 0..<16 {
            #expect(answers[caller] == (0..<(caller % 4 + 1)).map { Int64(caller * 10 + $0) })
        }
    }

    @Test func searchesThatDifferBeyondTheirVectorsNeverShareABatch() async throws {
        let (milvus, manager) = try await manager()
        let filters = Mutex<[String]>([])
        milvus.state.withLock { state in
            let inner = state.searchHandler!
            state.searchHandler = { vectors, dim, filter throws(VectorDBError) in
                filters.withLock { $0.append(filter) }
                return try await inner(vectors, dim, filter)
            }
        }
        async let a = manager.search(request([1], filter: "id > 0"), deadline: deadline)
        async let b = manager.search(request([2], filter: "id > 1"), deadline: deadline)
        async let c = manager.search(request([3], collection: "other"), deadline: deadline)
        async let d = manager.search(request([4], limit: 5), deadline: deadline)
        let all = try await [a, b, c, d].map(ids)
        #expect(all == [[1], [2], [3], [4]])
        #expect(milvus.state.withLock { $0.searchSizes } == [1, 1, 1, 1])
        #expect(Set(filters.withLock { $0 }) == ["id > 0", "id > 1", ""])
    }

    @Test func aBatchFailureReachesEveryMemberWithItsError() async throws {
        let (_, manager) = try await manager(failure: .invalidArgument("boom"))
        await withTaskGroup(of: VectorDBError?.self) { group in
            for caller in 0..<8 {
                group.addTask {
                    do { _ = try await manager.search(request([caller]), deadline: deadline); return nil } catch { return error as? VectorDBError }
                }
            }
            for await error in group { #expect(error == .invalidArgument("boom")) }
        }
    }

    @Test func aCallerWhoseDeadlinePassesLeavesAtOnceAndTheOthersCarryOn() async throws {
        // Milvus takes 3 s: a caller with a 100 ms deadline must not wait for it (no clock bound:
        // the batch in flight has not ended when it gets its answer).
        let finished = Finished()
        let (milvus, manager) = try await manager(delay: .seconds(3), finished: finished)
        async let first = manager.search(request([1]), deadline: deadline)
        try await untilSearching(milvus)
        async let patient = manager.search(request([2]), deadline: deadline)
        await #expect(throws: VectorDBError.deadlineExceeded("the search's deadline passed while it waited for Milvus")) {
            try await manager.search(request([3]), deadline: .after(.milliseconds(100)))
        }
        #expect(finished.value == 0)
        #expect(try await ids(first) == [1])
        #expect(try await ids(patient) == [2])
    }

    @Test func aCancelledCallerLeavesAtOnceAndTheOthersCarryOn() async throws {
        let finished = Finished()
        let (milvus, manager) = try await manager(delay: .seconds(3), finished: finished)
        async let first = manager.search(request([1]), deadline: deadline)
        try await untilSearching(milvus)
        async let patient = manager.search(request([2]), deadline: deadline)
        let quitter = Task { try await manager.search(request([3]), deadline: deadline) }
        try await Task.sleep(for: .milliseconds(50))
        quitter.cancel()
        await #expect(throws: VectorDBError.cancelled("the search was cancelled")) { try await quitter.value }
        #expect(finished.value == 0)  // it did not wait for the batch in flight
        #expect(try await ids(first) == [1])
        #expect(try await ids(patient) == [2])
    }

    @Test func aSearchAloneIsCancelledWithItsCaller() async throws {
        let (milvus, manager) = try await manager(delay: .seconds(5))
        let sawCancellation = Mutex(false)
        milvus.state.withLock { state in
            let inner = state.searchHandler!
            state.searchHandler = { vectors, dim, filter throws(VectorDBError) in
                let result = try await inner(vectors, dim, filter)
                sawCancellation.withLock { $0 = Task.isCancelled }
                return result
            }
        }
        let caller = Task { try await manager.search(request([1]), deadline: deadline) }
        // Cancelled once its search is under way in Milvus (not before it started).
        for _ in 0..<500 where milvus.calls("search") == 0 { try await Task.sleep(for: .milliseconds(10)) }
        try await Task.sleep(for: .milliseconds(20))
        let started = ContinuousClock.now
        caller.cancel()
        await #expect(throws: VectorDBError.cancelled("the search was cancelled")) { try await caller.value }
        #expect(started.duration(to: .now) < .seconds(2))
        #expect(sawCancellation.withLock { $0 })
    }

    @Test func aFullQueueIsResourceExhaustedAtOnce() async throws {
        let (milvus, manager) = try await manager(policy: SearchCoalescingPolicy.forTests(maxQueuedVectors: 2), delay: .milliseconds(1_000))
        async let first = manager.search(request([1]), deadline: deadline)
        try await untilSearching(milvus)
        async let queued = manager.search(request([2, 3]), deadline: deadline)
        for _ in 0..<500 where manager.searchCoalescing?.queuedVectors != 2 { try await Task.sleep(for: .milliseconds(10)) }
        await #expect {
            try await manager.search(request([4]), deadline: deadline)
        } throws: { error in
            guard case .resourceExhausted(let text) = error as? VectorDBError else { return false }
            return text.contains("search.max_queued_vectors")
        }
        #expect(try await ids(first) == [1])
        #expect(try await ids(queued) == [2, 3])
    }

    @Test func aSearchWaitingForCompanyLeavesWhenTheSchedulersTimeSaysSo() async throws {
        let milvus = MockMilvus()
        let scheduler = ManualSearchScheduler()
        let manager = VectorDBManager(milvus: milvus, logger: Logger(label: "test"),
                                      searchCoalescing: .forTests(maxWait: .milliseconds(50)), searchScheduler: scheduler)
        try await manager.createCollection(CollectionSpec(name: "docs", dimension: 2), deadline: deadline)
        let search = Task { try await manager.search(request([1]), deadline: deadline) }
        for _ in 0..<500 where scheduler.armedTimers == 0 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(scheduler.armedTimers == 1)
        scheduler.advance(by: .milliseconds(49))
        try await Task.sleep(for: .milliseconds(50))  // real time passes; the scheduler's does not
        #expect(milvus.calls("search") == 0)
        scheduler.advance(by: .milliseconds(1))
        _ = try await search.value
        #expect(milvus.calls("search") == 1)
    }

    @Test func withCoalescingOffEverySearchGoesAlone() async throws {
        let (milvus, manager) = try await manager(policy: nil)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for caller in 0..<8 {
                group.addTask {
                    let found = ids(try await manager.search(request([caller]), deadline: deadline))
                    #expect(found == [Int64(caller)])
                }
            }
            try await group.waitForAll()
        }
        #expect(milvus.state.withLock { $0.searchSizes } == [Int](repeating: 1, count: 8))
    }
}
