import GRPCNGHTTP2
import Synchronization
import Testing
import VDBMDomain
import VDBMUtils
@testable import VDBMService

/// `Export` and `ImportRows` without a transport: their bodies take the request messages as any
/// async sequence and write through a closure.
@Suite struct VectorDBStreamingTests {
    private let check = RequestValidation(limits: RequestLimits(maxBatchRows: 10, maxFilterBytes: 64, maxSearchVectors: 4))

    private func export(_ backend: MockBackend, pageSize: UInt64, filter: String = "") async throws -> [[Int64]] {
        let request = ProtoWriter { w in
            w.string(1, "docs")
            if !filter.isEmpty { w.string(2, filter) }
            w.uint(4, pageSize)
        }.bytes
        let pages = Mutex<[[Int64]]>([])
        try await VectorDBService.export(request, backend: backend, check: check, deadline: .after(.seconds(5))) { bytes in
            let columns = ProtoReader(bytes).messages(1)
            let ids = columns.first { $0.string(1) == "id" }?.message(4).int64s(1) ?? []
            pages.withLock { $0.append(ids) }
        }
        return pages.withLock { $0 }
    }

    @Test func exportSendsEveryRowOncePageByPageAndStopsAtAnEmptyPage() async throws {
        let backend = MockBackend()
        #expect(try await export(backend, pageSize: 2) == [[1, 2], [3, 4], [5]])
        // Each page asked for the keys after the last one sent; the last page was empty.
        #expect(backend.calls == ["exportPage", "exportPage", "exportPage", "exportPage"])
        let pages = backend.state.withLock { $0.exportPages }
        #expect(pages.map(\.cursor?.key) == [nil, .int64(2), .int64(4), .int64(5)])
        #expect(pages.allSatisfy { $0.pageSize == 2 })
    }

    @Test func exportPageSizeDefaultsTo1000AndIsCapped() async throws {
        let backend = MockBackend()
        #expect(try await export(backend, pageSize: 0) == [[1, 2, 3, 4, 5]])
        #expect(backend.state.withLock { $0.exportPages.first?.pageSize } == 1000)
        await #expect(throws: GRPCStatus(.invalidArgument, "page_size is 16385; at most 16384")) {
            _ = try await export(MockBackend(), pageSize: 16385)
        }
    }

    @Test func exportFailuresKeepTheirKind() async {
        let backend = MockBackend()
        backend.fail(with: .notFound("collection 'docs' does not exist"))
        await #expect(throws: VectorDBError.notFound("collection 'docs' does not exist")) {
            _ = try await export(backend, pageSize: 2)
        }
    }

    private func searchIterator(_ backend: MockBackend, pageSize: UInt64, limit: UInt64 = 0,
                                extra: (inout ProtoWriter) -> Void = { _ in }) async throws -> [[Int64]] {
        let request = ProtoWriter { w in
            w.message(1) { search in
                search.string(1, "docs")
                search.message(2) { $0.uint(1, 2); $0.floats(2, [0.5, 0.5]) }
                extra(&search)
            }
            w.uint(2, pageSize)
            if limit > 0 { w.uint(3, limit) }
        }.bytes
        let pages = Mutex<[[Int64]]>([])
        try await VectorDBService.searchIterator(request, backend: backend, check: check, deadline: .after(.seconds(5))) { bytes in
            let results = ProtoReader(bytes).messages(1)
            #expect(results.count == 1)
            let ids = results.first?.message(1).int64s(1) ?? []
            pages.withLock { $0.append(ids) }
        }
        return pages.withLock { $0 }
    }

    @Test func searchIteratorSendsAPagePerMessageUntilTheLastHit() async throws {
        let backend = MockBackend()
        let pages = try await searchIterator(backend, pageSize: 10)
        #expect(pages.map(\.count) == [10, 10, 5])
        #expect(pages.flatMap { $0 } == Array(1...25))
        #expect(backend.calls == ["searchIteratorPage", "searchIteratorPage", "searchIteratorPage"])
    }

    @Test func searchIteratorStopsAtItsLimitCuttingAWholePage() async throws {
        let backend = MockBackend()
        #expect(try await searchIterator(backend, pageSize: 10, limit: 12) == [Array(1...10), [11, 12]])
        #expect(backend.state.withLock { $0.searches.map(\.limit) } == [10, 10])
        let defaults = MockBackend()
        #expect(try await searchIterator(defaults, pageSize: 0).map(\.count) == [25])
        #expect(defaults.state.withLock { $0.searches.first?.limit } == 1000)
    }

    @Test func searchIteratorRefusesWhatItCannotPage() async {
        await #expect(throws: GRPCStatus(.invalidArgument, "page_size is 16385; at most 16384")) {
            _ = try await searchIterator(MockBackend(), pageSize: 16385)
        }
        await #expect(throws: GRPCStatus(.invalidArgument, "search.limit is 5; an iterator takes page_size and limit instead")) {
            _ = try await searchIterator(MockBackend(), pageSize: 10) { $0.uint(3, 5) }
        }
        await #expect(throws: GRPCStatus(.invalidArgument, "a search iterator takes one float vector")) {
            _ = try await searchIterator(MockBackend(), pageSize: 10) { $0.string(15, "words") }
        }
    }

    private func batches(_ count: Int) -> AsyncThrowingStream<[UInt8], any Error> {
        AsyncThrowingStream { continuation in
            for index in 0..<count {
                continuation.yield(VectorDBServiceTests.insertRequest(ids: [Int64(index * 2), Int64(index * 2 + 1)]))
            }
            continuation.finish()
        }
    }

    @Test func importInsertsEachBatchInOrderAndSumsThem() async throws {
        let backend = MockBackend()
        let summary = ProtoReader(try await VectorDBService.importRows(batches(3), backend: backend, check: check,
                                                                        deadline: .after(.seconds(5))))
        #expect(summary.varint(1) == 6)
        #expect(summary.int64s(2) == [2, 2, 2])
        #expect(backend.calls == ["insert", "insert", "insert"])
        #expect(backend.state.withLock { $0.entities.map(\.rowCount) } == [2, 2, 2])
    }

    @Test func importFailureSaysWhatLandedBeforeIt() async {
        let backend = MockBackend()
        backend.state.withLock { $0.insertsBeforeFailure = 2 }
        await #expect(throws: GRPCStatus(.unavailable, "batch 3 failed after 4 rows in 2 batches were inserted: "
                                         + "Milvus unavailable: connection lost")) {
            _ = try await VectorDBService.importRows(batches(5), backend: backend, check: check, deadline: .after(.seconds(5)))
        }
        // Nothing after the failed batch was read or sent.
        #expect(backend.calls.count == 3)
    }

    @Test func anInvalidBatchStopsTheImportWithoutReachingMilvus() async {
        let backend = MockBackend()
        let bad = AsyncThrowingStream<[UInt8], any Error> { continuation in
            continuation.yield(VectorDBServiceTests.insertRequest())
            continuation.yield(VectorDBServiceTests.insertRequest(vectors: [1, 2, 3]))  // wrong length
            continuation.finish()
        }
        await #expect(throws: GRPCStatus.self) {
            _ = try await VectorDBService.importRows(bad, backend: backend, check: check, deadline: .after(.seconds(5)))
        }
        #expect(backend.calls == ["insert"])
    }
}
