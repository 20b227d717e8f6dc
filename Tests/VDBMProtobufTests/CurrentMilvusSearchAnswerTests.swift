import CVDBMProtos
import Testing
import VDBMDomain
@testable import VDBMProtobuf

/// Merged search answers shaped as Milvus 2.4 to 3.0 send them: every field of today's
/// `SearchResultData` set. Each share must carry its own hits' group values, distances, element
/// indices and highlights, its own queries' recalls, and the request's all_search_count; what
/// vdbm cannot cut names its reason.
@Suite struct CurrentMilvusSearchAnswerTests {
    /// Three query vectors with 2, 0 and 1 hits (ids 10, 11, 30), every current field set;
    /// `extra` is appended to the bytes of `results` (fields vdbm does not know, or more values).
    private func answer(iterator: Bool = false, extra: [UInt8] = []) -> [UInt8] {
        let results = ProtobufC.pack { arena in
            func longs(_ values: [Int64]) -> UnsafeMutablePointer<Milvus__Proto__Schema__FieldData> {
                MilvusFieldData(name: "doc", dataType: 5, values: .int64s(values)).build(in: arena)
            }
            let highlight = arena.message(milvus__proto__common__highlight_result__init) { result in
                result.field_name = arena.string("text")
                let datas = ["a", "b", "c"].map { fragment in
                    arena.message(milvus__proto__common__highlight_data__init) { data in
                        (data.n_fragments, data.fragments) = (1, arena.strings(["<em>\(fragment)</em>"]))
                        (data.n_scores, data.scores) = (1, arena.array([Float(1)]))
                    }
                }
                (result.n_datas, result.datas) = (datas.count, arena.pointers(datas))
            }
            let data = arena.message(milvus__proto__schema__search_result_data__init) { data in
                data.num_queries = 3
                data.top_k = 2
                (data.n_topks, data.topks) = (3, arena.array([Int64(2), 0, 1]))
                (data.n_scores, data.scores) = (3, arena.array([Float(0.1), 0.2, 0.3]))
                data.ids = MilvusIDs.int64s([10, 11, 30]).build(in: arena)
                let title = MilvusFieldData(name: "title", dataType: 21, values: .strings(["x", "y", "z"])).build(in: arena)
                (data.n_fields_data, data.fields_data) = (1, arena.pointers([title]))
                data.group_by_field_value = longs([7, 8, 9])
                (data.n_group_by_field_values, data.group_by_field_values) = (1, arena.pointers([longs([70, 80, 90])]))
                data.all_search_count = 20_000
                (data.n_distances, data.distances) = (3, arena.array([Float(1.5), 2.5, 3.5]))
                (data.n_recalls, data.recalls) = (3, arena.array([Float(0.9), 0.8, 0.7]))
                data.primary_field_name = arena.string("id")
                (data.n_highlight_results, data.highlight_results) = (1, arena.pointers([highlight]))
                data.element_indices = MilvusFieldData.longArray([4, 5, 6], in: arena)
                if iterator {
                    data.search_iterator_v2_results = arena.message(milvus__proto__schema__search_iterator_v2_results__init) {
                        $0.token = arena.string("t")
                    }
                }
            }
            return data
        } + extra
        let envelope = ProtobufC.pack { arena in
            arena.message(milvus__proto__milvus__search_results__init) { message in
                message.status = MilvusStatus.success.build(in: arena)
                message.collection_name = arena.string("docs")
            }
        }
        // results (2), length-delimited: its length as a varint.
        var length: [UInt8] = []
        var count = results.count
        while count >= 0x80 {
            length.append(UInt8(count & 0x7F) | 0x80)
            count >>= 7
        }
        length.append(UInt8(count))
        return envelope + [0x12] + length + results
    }

    /// What a share says, read back with protobuf-c.
    private struct Share: Equatable {
        var numQueries: Int64, topK: Int64, topks: [Int64], ids: [Int64], scores: [Float], titles: [String]
        var group: [Int64], groups: [[Int64]], allSearchCount: Int64, distances: [Float], recalls: [Float]
        var primaryField: String, highlights: [String], elementIndices: [Int64], collection: String
    }

    private func read(_ bytes: [UInt8]) throws -> Share {
        try ProtobufC.decode(bytes, messageType: "SearchResults", unpack: milvus__proto__milvus__search_results__unpack) { message in
            let data = message.pointee.results!.pointee
            func longs(_ field: UnsafeMutablePointer<Milvus__Proto__Schema__FieldData>?) -> [Int64] {
                guard let field, case .int64s(let values) = MilvusFieldData.read(UnsafePointer(field)).values else { return [] }
                return values
            }
            let titles = ProtobufC.messages(data.n_fields_data, data.fields_data, MilvusFieldData.read).flatMap { column in
                if case .strings(let values) = column.values { return values }
                return []
            }
            let highlights = ProtobufC.array(data.n_highlight_results, data.highlight_results).flatMap { result in
                ProtobufC.array(result!.pointee.n_datas, result!.pointee.datas).flatMap { ProtobufC.texts($0!.pointee.n_fragments, $0!.pointee.fragments) }
            }
            return Share(numQueries: data.num_queries, topK: data.top_k, topks: ProtobufC.array(data.n_topks, data.topks),
                         ids: MilvusIDs.read(data.ids.map { UnsafePointer($0) }).int64Values,
                         scores: ProtobufC.array(data.n_scores, data.scores), titles: titles, group: longs(data.group_by_field_value),
                         groups: ProtobufC.array(data.n_group_by_field_values, data.group_by_field_values).map(longs),
                         allSearchCount: data.all_search_count, distances: ProtobufC.array(data.n_distances, data.distances),
                         recalls: ProtobufC.array(data.n_recalls, data.recalls), primaryField: ProtobufC.text(data.primary_field_name),
                         highlights: highlights,
                         elementIndices: data.element_indices.map { ProtobufC.array($0.pointee.n_data, $0.pointee.data) } ?? [],
                         collection: ProtobufC.text(message.pointee.collection_name))
        }
    }

    @Test func everyPerHitAndPerQueryFieldIsCutAndPerRequestOnesAreKept() throws {
        let merged = try MilvusMergedSearchResults.read(answer(), queries: 3).get()
        let first = try read(try #require(merged.answer(queries: 0..<1)))
        #expect(first == Share(numQueries: 1, topK: 2, topks: [2], ids: [10, 11], scores: [0.1, 0.2], titles: ["x", "y"],
                               group: [7, 8], groups: [[70, 80]], allSearchCount: 20_000, distances: [1.5, 2.5], recalls: [0.9],
                               primaryField: "id", highlights: ["<em>a</em>", "<em>b</em>"], elementIndices: [4, 5],
                               collection: "docs"))
        let rest = try read(try #require(merged.answer(queries: 1..<3)))
        #expect(rest == Share(numQueries: 2, topK: 2, topks: [0, 1], ids: [30], scores: [0.3], titles: ["z"], group: [9],
                              groups: [[90]], allSearchCount: 20_000, distances: [3.5], recalls: [0.8, 0.7], primaryField: "id",
                              highlights: ["<em>c</em>"], elementIndices: [6], collection: "docs"))
    }

    @Test func aShareWithoutHitsKeepsTheRequestsFieldsAndItsRecalls() throws {
        let merged = try MilvusMergedSearchResults.read(answer(), queries: 3).get()
        let none = try read(try #require(merged.answer(queries: 1..<2)))
        #expect(none == Share(numQueries: 1, topK: 2, topks: [0], ids: [], scores: [], titles: [], group: [], groups: [],
                              allSearchCount: 20_000, distances: [], recalls: [0.8], primaryField: "id", highlights: [],
                              elementIndices: [], collection: "docs"))
    }

    @Test func anIteratorPageIsNotCut() {
        #expect(fallback(answer(iterator: true)) == .iterator)
    }

    @Test func fieldsThisVdbmDoesNotKnowAreNotCut() {
        // Field 99 inside `results`: newer than pymilvus 3.0.2.
        #expect(fallback(answer(extra: [0x98, 0x06, 0x01])) == .unknownField)
    }

    @Test func aggregationsAreCarriedButNotCut() {
        // agg_topks (19) and agg_buckets (18), Milvus 3.0's search aggregations.
        #expect(fallback(answer(extra: [0x98, 0x01, 0x01])) == .aggregation)
        #expect(fallback(answer(extra: [0x92, 0x01, 0x00])) == .aggregation)
    }

    @Test func perHitAndPerQueryFieldsOfTheWrongLengthAreMalformed() throws {
        // distances (10) and recalls (12) each gain one value: packed repeated floats merge.
        #expect(fallback(answer(extra: [0x52, 0x04, 0, 0, 0, 0])) == .malformed)
        #expect(fallback(answer(extra: [0x62, 0x04, 0, 0, 0, 0])) == .malformed)
        #expect(fallback(answer()) == nil)
    }

    private func fallback(_ bytes: [UInt8]) -> MergedSearchFallback? {
        if case .failure(let reason) = MilvusMergedSearchResults.read(bytes, queries: 3) { return reason }
        return nil
    }
}

extension MilvusIDs {
    fileprivate var int64Values: [Int64] {
        if case .int64s(let values) = self { return values }
        return []
    }
}
