import Foundation
import Logging
import MilvusClient
import Testing
import VDBMDomain
import VDBMProtobuf
import VDBMUtils
@testable import VDBMManager

/// The search iterator's pages: every hit once, in distance order, whatever the page size, the
/// ties and the gaps between distances; its rings and filters as Milvus gets them.
@Suite struct SearchIteratorTests {
    private let deadline = Deadline.after(.seconds(10))

    // MARK: The recipe

    @Test func ringsDoubleThenLoseTheirOuterBound() {
        let cursor = SearchIteratorCursor(largerIsBetter: false, tail: 1, tiedKeys: [], width: 0.5)
        #expect(SearchIteration.radius(after: cursor, attempt: 0) == (1.5, false))
        #expect(SearchIteration.radius(after: cursor, attempt: 2) == (3, false))
        #expect(SearchIteration.radius(after: cursor, attempt: SearchIteration.widenings) == (SearchIteration.unboundedRadius, true))
        let similarity = SearchIteratorCursor(largerIsBetter: true, tail: 0.75, tiedKeys: [], width: 0.25)
        #expect(SearchIteration.radius(after: similarity, attempt: 1) == (0.25, false))
        #expect(SearchIteration.radius(after: similarity, attempt: 99).unbounded)
    }

    @Test func aRingPastTheLargestFloatHasNoOuterBound() {
        let cursor = SearchIteratorCursor(largerIsBetter: false, tail: 2e38, tiedKeys: [], width: 1e38)
        #expect(SearchIteration.radius(after: cursor, attempt: 1) == (SearchIteration.unboundedRadius, true))
    }

    @Test func aProbeKeepsTheCallersParamsAndFilterAndLeavesOutTiedKeys() {
        let cursor = SearchIteratorCursor(largerIsBetter: false, tail: 0.5, tiedKeys: [.int64(3), .int64(7)], width: 1)
        let params = SearchIteration.params(["ef": .int(64)], after: cursor, radius: 1.5)
        #expect(params == ["ef": .int(64), "radius": .double(1.5), "range_filter": .double(0.5)])
        #expect(SearchIteration.filter("year > 2000", key: "id", after: cursor) == "(year > 2000) and id not in [3, 7]")
        let strings = SearchIteratorCursor(largerIsBetter: false, tail: 0.5, tiedKeys: [.string("a\"b")], width: 1)
        #expect(SearchIteration.filter(" ", key: "name", after: strings) == "name not in [\"a\\\"b\"]")
    }

    @Test func ringsAreSearchedForTenPagesWithinMilvusLimitsAndTheCallersEf() {
        #expect(SearchIteration.ringLimit(pageSize: 7, params: [:]) == 70)
        #expect(SearchIteration.ringLimit(pageSize: 2000, params: [:]) == 16_384)
        #expect(SearchIteration.ringLimit(pageSize: 100, params: ["ef": .int(300)]) == 300)
        #expect(SearchIteration.ringLimit(pageSize: 100, params: ["ef": .int(50)]) == 100)
    }

    @Test func metricsOrderHitsEachTheirWay() {
        #expect(SearchIteration.largerIsBetter(metric: "L2") == false)
        #expect(SearchIteration.largerIsBetter(metric: "cosine") == true)
        #expect(SearchIteration.largerIsBetter(metric: "IP") == true)
        #expect(SearchIteration.largerIsBetter(metric: "MHJACCARD") == nil)
    }

    @Test func aShortFirstPageIsTheLast() throws {
        let page = SearchResults(ids: .int64s([1, 2]), distances: [0.1, 0.2])
        #expect(try SearchIteration.next(after: page, requested: 3, previous: nil, largerIsBetter: false, unbounded: true) == nil)
        let empty = SearchResults(ids: .int64s([]), distances: [])
        #expect(try SearchIteration.next(after: empty, requested: 3, previous: nil, largerIsBetter: false, unbounded: true) == nil)
    }

    @Test func tiesAtTheTailAreCarriedWhileTheTailStays() throws {
        let first = try #require(try SearchIteration.next(after: SearchResults(ids: .int64s([1, 2, 3]), distances: [0.1, 0.3, 0.3]),
                                                          requested: 3, previous: nil, largerIsBetter: false, unbounded: true))
        #expect(first.tail == 0.3)
        #expect(first.tiedKeys == [.int64(2), .int64(3)])
        #expect(abs(first.width - 0.2) < 1e-6)
        let second = try #require(try SearchIteration.next(after: SearchResults(ids: .int64s([4]), distances: [0.3]),
                                                           requested: 1, previous: first, largerIsBetter: false, unbounded: false))
        #expect(second.tiedKeys == [.int64(2), .int64(3), .int64(4)])
        #expect(second.width == first.width)  // a page of one distance spans nothing
        let third = try #require(try SearchIteration.next(after: SearchResults(ids: .int64s([5]), distances: [0.4]),
                                                          requested: 1, previous: second, largerIsBetter: false, unbounded: false))
        #expect(third.tiedKeys == [.int64(5)])
    }

    @Test func hitsOutOfOrderOrBeforeTheRingAreAMalformedAnswer() {
        #expect(throws: VectorDBError.self) {
            try SearchIteration.next(after: SearchResults(ids: .int64s([1, 2]), distances: [0.5, 0.1]), requested: 2,
                                     previous: nil, largerIsBetter: false, unbounded: true)
        }
        let cursor = SearchIteratorCursor(largerIsBetter: true, tail: 0.5, tiedKeys: [], width: 0.1)
        #expect(throws: VectorDBError.self) {
            try SearchIteration.next(after: SearchResults(ids: .int64s([1]), distances: [0.9]), requested: 1,
                                     previous: cursor, largerIsBetter: true, unbounded: false)
        }
        // A server that ignores the range sends the best hits again: even on a last, short page.
        #expect(throws: VectorDBError.self) {
            try SearchIteration.next(after: SearchResults(ids: .int64s([1, 2]), distances: [0.9, 0.2]), requested: 3,
                                     previous: cursor, largerIsBetter: true, unbounded: true)
        }
    }

    // MARK: Through the manager, against a scripted collection

    /// A Milvus holding one row per distance in `distances` (keys 1, 2, ...), answering searches as
    /// Milvus does: a range search keeps `range_filter` and drops `radius`, `id not in [...]` is
    /// honoured, hits come best first up to `topk`.
    private func scripted(_ distances: [Float], metric: MetricType) async throws -> (MockMilvus, VectorDBManager) {
        let milvus = MockMilvus()
        let manager = VectorDBManager(milvus: milvus, logger: Logger(label: "test"))
        try await manager.createCollection(CollectionSpec(name: "docs", dimension: 2, metric: metric, index: IndexSpec(type: "FLAT")),
                                           deadline: deadline)
        let largerIsBetter = metric != .l2
        let rows = distances.enumerated().map { (key: Int64($0.offset + 1), distance: $0.element) }
        milvus.state.withLock { state in
            state.searchHandler = { [milvus] _, _, filter throws(VectorDBError) in
                let sent = milvus.state.withLock { $0.searchParams }
                let topK = Int(sent.first { $0.key == "topk" }!.value)!
                let params = try? JSONSerialization.jsonObject(with: Data(sent.first { $0.key == "params" }!.value.utf8)) as? [String: Any]
                let radius = (params?["radius"] as? NSNumber)?.floatValue
                let rangeFilter = (params?["range_filter"] as? NSNumber)?.floatValue
                let excluded = Set(Self.keys(notIn: filter))
                let hits = rows.filter { row in
                    guard !excluded.contains(row.key) else { return false }
                    guard let radius, let rangeFilter else { return true }
                    return largerIsBetter ? row.distance > radius && row.distance <= rangeFilter
                                          : row.distance >= rangeFilter && row.distance < radius
                }
                .sorted { largerIsBetter ? $0.distance > $1.distance : $0.distance < $1.distance }
                .prefix(topK)
                return MilvusResponse.Search(status: .success, numQueries: 1, topK: Int64(topK), topks: [Int64(hits.count)],
                                             ids: .int64s(hits.map(\.key)), scores: hits.map(\.distance), fields: [])
            }
        }
        return (milvus, manager)
    }

    private static func keys(notIn filter: String) -> [Int64] {
        guard let start = filter.range(of: "not in [")?.upperBound, let end = filter[start...].firstIndex(of: "]") else { return [] }
        return filter[start..<end].split(separator: ",").compactMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
    }

    /// Every page of an iterator with `pageSize`: the keys in the order sent, and the pages' sizes.
    private func walk(_ manager: VectorDBManager, pageSize: Int) async throws -> (keys: [Int64], pages: [Int]) {
        var cursor: SearchIteratorCursor?
        var keys: [Int64] = []
        var pages: [Int] = []
        repeat {
            let request = SearchRequest(collection: "docs", vectors: [0, 0], limit: pageSize)
            let page = try await manager.searchIteratorPage(request, after: cursor, deadline: deadline)
            guard case .int64s(let ids) = page.hits.ids else { Issue.record("keys are not int64"); break }
            keys += ids
            pages.append(ids.count)
            cursor = page.next
        } while cursor != nil && pages.count < 1000
        return (keys, pages)
    }

    @Test func everyHitComesOnceInDistanceOrderWithTiesAndGaps() async throws {
        // Ties across page boundaries, a cluster far from the rest, and one row very far away.
        var distances: [Float] = (0..<40).map { Float($0 / 3) * 0.01 }
        distances += [5, 5, 5, 5.001, 80, 1e6]
        distances.shuffle()
        let (_, manager) = try await scripted(distances, metric: .l2)
        let expected = distances.enumerated().sorted { ($0.element, $0.offset) < ($1.element, $1.offset) }.map { Int64($0.offset + 1) }
        for pageSize in [1, 4, 7, 46, 100] {
            let (keys, pages) = try await walk(manager, pageSize: pageSize)
            #expect(Set(keys).count == keys.count, "page size \(pageSize): a key sent twice")
            #expect(keys.count == distances.count, "page size \(pageSize)")
            // Order by distance; ties may come in any order.
            #expect(keys.map { distances[Int($0) - 1] } == expected.map { distances[Int($0) - 1] }, "page size \(pageSize)")
            #expect(pages.dropLast().allSatisfy { $0 == pageSize }, "page size \(pageSize): \(pages)")
        }
    }

    @Test func similarityMetricsWalkFromTheLargest() async throws {
        let distances: [Float] = [0.9, 0.1, 0.5, 0.5, 0.5, -0.3, 0.7, -0.9, 0.2]
        let (_, manager) = try await scripted(distances, metric: .cosine)
        let (keys, _) = try await walk(manager, pageSize: 2)
        #expect(keys.map { distances[Int($0) - 1] } == distances.sorted(by: >))
    }

    @Test func aSparseRegionWidensTheRingThenDropsItsBound() async throws {
        let (milvus, manager) = try await scripted([0, 0.001, 0.002, 1e30], metric: .l2)
        let (keys, pages) = try await walk(manager, pageSize: 3)
        #expect(keys == [1, 2, 3, 4])
        #expect(pages == [3, 1])
        // The rings asked for ten pages' hits; the page kept three.
        #expect(milvus.state.withLock { $0.searchParams.first { $0.key == "topk" }?.value } == "30")
        // One first search, then rings doubling from 0.002 that never reach 1e30, then the unbounded probe.
        #expect(milvus.calls("search") == 2 + SearchIteration.widenings)
    }

    @Test func theFirstPageAsksTheIndexWhichWayHitsGo() async throws {
        let (milvus, manager) = try await scripted([0.3, 0.1], metric: .innerProduct)
        let page = try await manager.searchIteratorPage(SearchRequest(collection: "docs", vectors: [0, 0], limit: 1),
                                                        after: nil, deadline: deadline)
        #expect(page.hits.ids == .int64s([1]))
        #expect(page.next?.largerIsBetter == true)
        #expect(milvus.calls("describeIndexes") == 1)
    }

    @Test func whatAnIteratorCannotTakeIsRefusedBeforeMilvusIsAsked() async throws {
        let (milvus, manager) = try await scripted([0.1], metric: .l2)
        let refused: [SearchRequest] = [
            SearchRequest(collection: "docs", vectors: [0, 0, 1, 1], dimension: 2, limit: 2),
            SearchRequest(collection: "docs", vectors: [0, 0], limit: 2, offset: 3),
            SearchRequest(collection: "docs", vectors: [0, 0], limit: 2, params: ["radius": .double(1)]),
            SearchRequest(collection: "docs", vectors: [0, 0], limit: 2, grouping: SearchGrouping(field: "id", size: 1, strictSize: false)),
        ]
        for request in refused {
            await #expect(throws: VectorDBError.self) {
                _ = try await manager.searchIteratorPage(request, after: nil, deadline: deadline)
            }
        }
        #expect(milvus.calls("search") == 0)
    }

    @Test func anIndexWithoutAMetricIsAFailedPrecondition() async throws {
        let (milvus, manager) = try await scripted([0.1], metric: .l2)
        milvus.state.withLock { $0.indexes = [.init(indexName: "vector", fieldName: "vector", params: [])] }
        await #expect(throws: VectorDBError.failedPrecondition(
            "field 'vector' of collection 'docs' has no index with a metric: create one first")) {
            _ = try await manager.searchIteratorPage(SearchRequest(collection: "docs", vectors: [0, 0], limit: 1),
                                                     after: nil, deadline: deadline)
        }
    }
}
