import Testing
import VDBMDomain
@testable import VDBMProtobuf
import VDBMUtils

/// Reading an SDK's Milvus `SearchRequest` for merging, building the merged request, and cutting
/// Milvus's answer back into each member's `SearchResults`.
@Suite struct MilvusSearchMergingTests {
    private func request(_ vectors: [Float], collection: String = "docs", filter: String = "", outputFields: [String] = [],
                         partitions: [String] = [], topK: Int = 3) -> [UInt8] {
        MilvusRequest.search(collection, vectors: vectors, dim: 2, filter: filter, outputFields: outputFields,
                             partitions: partitions,
                             params: MilvusRequest.searchParams(annsField: "v", topK: topK, params: ["ef": 64], offset: 0))
    }

    private func bytes(_ floats: [Float]) -> [UInt8] { floats.withUnsafeBytes { Array($0) } }

    /// Why an answer for `queries` query vectors would not be cut (nil: it would).
    private func fallback(_ answer: [UInt8], queries: Int) -> MergedSearchFallback? {
        if case .failure(let reason) = MilvusMergedSearchResults.read(answer, queries: queries) { return reason }
        return nil
    }

    // Fields appended on the wire (protobuf keeps the last value of a scalar field).
    private let guarantee7: [UInt8] = [0x58, 0x07]         // guarantee_timestamp (11) = 7
    private let nq5: [UInt8] = [0x60, 0x05]                // nq (12) = 5
    private let unknownField: [UInt8] = [0x98, 0x06, 0x01]  // field 99 = 1: a newer SDK's

    @Test func theKeyIsEverythingButTheVectorsNqAndGuarantee() throws {
        let one = try #require(MilvusSearchRequestParts(request: request([1, 2])))
        let two = try #require(MilvusSearchRequestParts(request: request([3, 4, 5, 6])))
        let stamped = try #require(MilvusSearchRequestParts(request: request([3, 4]) + guarantee7))
        #expect(one.key == two.key)
        #expect(one.key == stamped.key)
        #expect(two.vectors == [bytes([3, 4]), bytes([5, 6])])
        #expect(stamped.guaranteeTimestamp == 7 && one.guaranteeTimestamp == 0)
        for other in [request([1, 2], collection: "other"), request([1, 2], filter: "id > 1"),
                      request([1, 2], outputFields: ["title"]), request([1, 2], partitions: ["p1"]),
                      request([1, 2], topK: 4), request([1, 2]) + unknownField] {
            #expect(try #require(MilvusSearchRequestParts(request: other)).key != one.key)
        }
    }

    @Test func requestsThatCannotBeMergedAreNotRead() {
        #expect(MilvusSearchRequestParts(request: [0x12, 0x7F]) == nil)          // not a SearchRequest
        #expect(MilvusSearchRequestParts(request: request([1, 2]) + nq5) == nil)  // nq says 5, one vector
        #expect(MilvusSearchRequestParts(request: request([])) == nil)            // no vectors
        // Milvus 2.5+: search_by_primary_keys (16), ids (22), sub_reqs (17).
        #expect(MilvusSearchRequestParts(request: request([1, 2]) + [0x80, 0x01, 0x01]) == nil)
        #expect(MilvusSearchRequestParts(request: request([1, 2]) + [0xB2, 0x01, 0x00]) == nil)
        #expect(MilvusSearchRequestParts(request: request([1, 2]) + [0x8A, 0x01, 0x00]) == nil)
    }

    @Test func theMergedRequestCarriesEveryVectorTheNewestGuaranteeAndTheSameKey() throws {
        let parts = try #require(MilvusSearchRequestParts(request: request([1, 2]) + unknownField))
        let merged = try #require(parts.merged(vectors: [bytes([1, 2]), bytes([3, 4]), bytes([5, 6])], guaranteeTimestamp: 42))
        let reread = try #require(MilvusSearchRequestParts(request: merged))
        #expect(reread.vectors == [bytes([1, 2]), bytes([3, 4]), bytes([5, 6])])
        #expect(reread.guaranteeTimestamp == 42)
        #expect(reread.key == parts.key)
    }

    /// Three query vectors with 2, 0 and 1 hits, and a column of each kind vdbm reads.
    private var answer: MilvusResponse.Search {
        MilvusResponse.Search(
            status: .success, numQueries: 3, topK: 2, topks: [2, 0, 1], ids: .int64s([10, 11, 30]), scores: [0.1, 0.2, 0.3],
            fields: [
                MilvusFieldData(name: "n", dataType: 5, values: .int64s([1, 2, 3])),
                MilvusFieldData(name: "s", dataType: 21, values: .strings(["a", "b", "c"])),
                MilvusFieldData(name: "b", dataType: 1, values: .bools([true, false, true])),
                MilvusFieldData(name: "f", dataType: 10, values: .floats([0.5, 1.5, 2.5])),
                MilvusFieldData(name: "$meta", dataType: 23, values: .json(["{\"k\":1}", "{\"k\":2}", "{\"k\":3}"]), isDynamic: true),
                MilvusFieldData(name: "v", dataType: 101, values: .floatVectors(dimension: 2, values: [1, 1, 2, 2, 3, 3])),
            ])
    }

    @Test func eachShareHoldsItsOwnQueriesHitsInOrder() throws {
        let merged = try MilvusMergedSearchResults.read(answer.serializedBytes(), queries: 3).get()
        let first = try MilvusResponse.Search(serializedBytes: try #require(merged.answer(queries: 0..<1)))
        #expect(first.numQueries == 1 && first.topK == 2 && first.topks == [2])
        #expect(first.ids == .int64s([10, 11]) && first.scores == [0.1, 0.2])
        #expect(first.fields.map(\.values) == [.int64s([1, 2]), .strings(["a", "b"]), .bools([true, false]), .floats([0.5, 1.5]),
                                               .json(["{\"k\":1}", "{\"k\":2}"]), .floatVectors(dimension: 2, values: [1, 1, 2, 2])])
        #expect(first.fields.map(\.name) == answer.fields.map(\.name))
        #expect(first.fields.last?.isDynamic == false && first.fields[4].isDynamic)

        let last = try MilvusResponse.Search(serializedBytes: try #require(merged.answer(queries: 1..<3)))
        #expect(last.numQueries == 2 && last.topks == [0, 1] && last.ids == .int64s([30]) && last.scores == [0.3])
        #expect(last.fields.map(\.values) == [.int64s([3]), .strings(["c"]), .bools([true]), .floats([2.5]), .json(["{\"k\":3}"]),
                                              .floatVectors(dimension: 2, values: [3, 3])])

        let all = try MilvusResponse.Search(serializedBytes: try #require(merged.answer(queries: 0..<3)))
        #expect(all == answer)
    }

    @Test func aShareWithoutHitsIsWhatMilvusAnswersASearchWithoutHits() throws {
        let merged = try MilvusMergedSearchResults.read(answer.serializedBytes(), queries: 3).get()
        let none = try MilvusResponse.Search(serializedBytes: try #require(merged.answer(queries: 1..<2)))
        #expect(none.status.isSuccess && none.numQueries == 1 && none.topks == [0])
        #expect(none.ids == .int64s([]) && none.scores.isEmpty && none.fields.isEmpty)
        #expect(merged.answer(queries: 2..<4) == nil)
    }

    @Test func answersThatCannotBeCutExactlyAreRefused() {
        var failed = answer
        failed.status = MilvusStatus(errorCode: 1, reason: "collection not loaded", code: 101)
        #expect(fallback(failed.serializedBytes(), queries: 3) == .milvusError)
        #expect(fallback(answer.serializedBytes(), queries: 2) == .malformed)           // another count of queries
        #expect(fallback(answer.serializedBytes() + unknownField, queries: 3) == .unknownField)  // a newer Milvus's field
        var short = answer
        short.fields[1] = MilvusFieldData(name: "s", dataType: 21, values: .strings(["a", "b"]))  // a column one row short
        #expect(fallback(short.serializedBytes(), queries: 3) == .malformed)
        var strays = answer
        strays.scores = [0.1, 0.2]
        #expect(fallback(strays.serializedBytes(), queries: 3) == .malformed)
        #expect(fallback([0x12, 0x7F], queries: 3) == .undecodable)
    }

    // Hostile counts: each must make no value (the members then search alone), never a trap.

    @Test func topksThatAddUpPastInt64AreRefused() {
        for topks: [Int64] in [[.max, 1, 0], [.max - 1, .max - 1, 2], [.max, .max, .max]] {
            var hostile = answer
            hostile.topks = topks
            #expect(fallback(hostile.serializedBytes(), queries: 3) == .malformed)
        }
    }

    @Test func aNegativeTopkIsRefused() {
        var hostile = answer
        hostile.topks = [2, -1, 2]
        #expect(fallback(hostile.serializedBytes(), queries: 3) == .malformed)
    }

    @Test func aDimensionWhoseRowsOverflowIsRefused() {
        var hostile = answer
        hostile.fields = [MilvusFieldData(name: "v", dataType: 101, values: .floatVectors(dimension: .max / 2, values: [1]))]
        #expect(fallback(hostile.serializedBytes(), queries: 3) == .malformed)
    }

    @Test func aHugeOrNegativeQueryCountIsRefused() {
        for count: Int64 in [.max, -3, 0] {
            var hostile = answer
            hostile.numQueries = count
            #expect(fallback(hostile.serializedBytes(), queries: 3) == .malformed)
        }
    }

    /// The input libFuzzer found on 2026-12-04 (`topks` near `Int64.max`; the fuzz target's first
    /// byte 3 means an answer for 2 queries), also in the seed corpus as `topks-overflow`.
    @Test func theFuzzersCrashingAnswerIsRefused() throws {
        let input = try #require(Base64.decode(
            "AwoAEqYBCAIQAhoWCBUSBXRpdGxlGgsyCQoBYQoBYgoBYzojCBYSBHRhZ3MaGUIXCgUaAwoBAAoFGgMKAQEKBRoDCgECEAUaJQhlEgF2Ih4IAhIaChgA"
            + "AIA/AACAPwAAAEAAAABAAABAyv//vfMyMzM9zcyxwZqZmT4qBwoFCgMBAgM0AgIBOgWZmf//////"))
        #expect(input.first == 3)
        #expect(fallback(Array(input.dropFirst()), queries: 2) != nil)
    }
}
