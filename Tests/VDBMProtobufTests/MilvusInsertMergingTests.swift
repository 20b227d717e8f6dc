import CVDBMProtos
import Testing
import VDBMDomain
@testable import VDBMProtobuf

@Suite struct MilvusInsertMergingTests {
    private func columns(_ ids: [Int64], dimension: Int = 2) -> [MilvusFieldData] {
        [MilvusFieldData(name: "id", dataType: 5, values: .int64s(ids)),
         MilvusFieldData(name: "vector", dataType: 101,
                         values: .floatVectors(dimension: dimension, values: ids.flatMap { [Float($0), 0.5] })),
         MilvusFieldData(name: "title", dataType: 21, values: .strings(ids.map { "title \($0)" })),
         MilvusFieldData(name: "$meta", dataType: 23, values: .json(ids.map { "{\"n\":\($0)}" }), isDynamic: true)]
    }

    @Test func insertsThatDifferOnlyInTheirRowsShareAKeyAndMergeRowAfterRow() throws {
        let first = try #require(MilvusInsertRequestParts(request: MilvusRequest.insert("docs", fields: columns([1, 2]))))
        let second = try #require(MilvusInsertRequestParts(request: MilvusRequest.insert("docs", fields: columns([3]))))
        #expect(first.key == second.key && first.rows == 2 && second.rows == 1)
        #expect(first.columns == columns([1, 2]))
        for other in [MilvusRequest.insert("other", fields: columns([3])),
                      MilvusRequest.insert("docs", partition: "p1", fields: columns([3])),
                      MilvusRequest.insert("docs", fields: Array(columns([3]).prefix(2)))] {
            #expect(try #require(MilvusInsertRequestParts(request: other)).key != first.key)
        }

        let merged = try #require(first.merged(columns: columns([1, 2, 3]), rows: 3))
        let reread = try #require(MilvusInsertRequestParts(request: merged))
        #expect(reread.key == first.key && reread.rows == 3 && reread.columns == columns([1, 2, 3]))
    }

    @Test func whatVdbmCannotReadBackExactlyIsNotMerged() {
        // Not an insert, hash keys, a null mask, a binary vector column, no rows: each goes alone.
        #expect(MilvusInsertRequestParts(request: [0xFF, 0x01]) == nil)
        #expect(MilvusInsertRequestParts(request: MilvusRequest.insert("docs", fields: [])) == nil)
        var nullable = MilvusFieldData(name: "n", dataType: 5, values: .int64s([7]))
        nullable.validity = [true]
        #expect(MilvusInsertRequestParts(request: MilvusRequest.insert("docs", fields: [nullable])) == nil)
        let partial = MilvusFieldData(name: "v", dataType: 101, values: .floatVectors(dimension: 2, values: [1, 2, 3]))
        #expect(MilvusInsertRequestParts(request: MilvusRequest.insert("docs", fields: [partial])) == nil)
        let withHashKeys = ProtobufC.pack { arena in
            arena.message(milvus__proto__milvus__insert_request__init) { request in
                request.collection_name = arena.string("docs")
                let built = columns([1]).map { $0.build(in: arena) }
                request.n_fields_data = built.count
                request.fields_data = arena.pointers(built)
                request.num_rows = 1
                request.n_hash_keys = 1
                request.hash_keys = arena.array([UInt32(9)])
            }
        }
        #expect(MilvusInsertRequestParts(request: withHashKeys) == nil)
        let binaryVectors = ProtobufC.pack { arena in
            arena.message(milvus__proto__milvus__insert_request__init) { request in
                request.collection_name = arena.string("docs")
                let field = arena.message(milvus__proto__schema__field_data__init) { field in
                    field.type = 100
                    field.field_name = arena.string("bits")
                    field.field_case = MILVUS__PROTO__SCHEMA__FIELD_DATA__FIELD_VECTORS
                    field.vectors = arena.message(milvus__proto__schema__vector_field__init) { vectors in
                        vectors.dim = 8
                        vectors.data_case = MILVUS__PROTO__SCHEMA__VECTOR_FIELD__DATA_BINARY_VECTOR
                        vectors.binary_vector = arena.binary([0xAB])
                    }
                }
                request.n_fields_data = 1
                request.fields_data = arena.pointers([field])
                request.num_rows = 1
            }
        }
        #expect(MilvusInsertRequestParts(request: binaryVectors) == nil)
    }

    private func mutation(ids: MilvusIDs, count: Int64, status: Int32 = 0, errors: [UInt32] = [], timestamp: UInt64 = 77)
        -> [UInt8] {
        ProtobufC.pack { arena in
            arena.message(milvus__proto__milvus__mutation_result__init) { result in
                result.status = arena.message(milvus__proto__common__status__init) { $0.code = status }
                result.ids = ids.build(in: arena)
                result.insert_cnt = count
                result.n_succ_index = Int(count)
                result.succ_index = arena.array((0..<UInt32(count)).map { $0 })
                result.n_err_index = errors.count
                result.err_index = arena.array(errors)
                result.timestamp = timestamp
            }
        }
    }

    private func read(_ answer: [UInt8]) throws -> (ids: MilvusIDs, count: Int64, timestamp: UInt64, succ: [UInt32]) {
        try ProtobufC.decode(answer, messageType: "MutationResult", unpack: milvus__proto__milvus__mutation_result__unpack) {
            result in
            (MilvusIDs.read(result.pointee.ids.map { UnsafePointer($0) }), result.pointee.insert_cnt, result.pointee.timestamp,
             ProtobufC.array(result.pointee.n_succ_index, result.pointee.succ_index))
        }
    }

    @Test func aMergedAnswerIsCutIntoEachMembersIdsCountAndTimestamp() throws {
        guard case .cut(let answers) = MilvusMergedMutation.read(mutation(ids: .int64s([10, 11, 12, 13, 14]), count: 5),
                                                                 rows: [2, 3]) else {
            Issue.record("not cut")
            return
        }
        let first = try read(answers[0]), second = try read(answers[1])
        #expect(first.ids == .int64s([10, 11]) && first.count == 2 && first.timestamp == 77 && first.succ == [0, 1])
        #expect(second.ids == .int64s([12, 13, 14]) && second.count == 3 && second.timestamp == 77 && second.succ == [0, 1, 2])
        #expect(try MilvusResponse.Mutation(serializedBytes: answers[1]).status.isSuccess)

        guard case .cut(let strings) = MilvusMergedMutation.read(mutation(ids: .strings(["a", "b", "c"]), count: 3),
                                                                 rows: [1, 1, 1]) else {
            Issue.record("not cut")
            return
        }
        #expect(try strings.map { try read($0).ids } == [.strings(["a"]), .strings(["b"]), .strings(["c"])])
    }

    @Test func aRefusalAndAnAnswerThatDoesNotAddUpAreToldApart() {
        #expect(MilvusMergedMutation.read(mutation(ids: .int64s([]), count: 0, status: 1100), rows: [1, 1]) == .refused)
        for answer in [mutation(ids: .int64s([1, 2]), count: 2), mutation(ids: .int64s([1, 2, 3]), count: 2),
                       mutation(ids: .int64s([1, 2, 3]), count: 3, errors: [1]), [0xFF, 0xFF]] {
            guard case .unknown = MilvusMergedMutation.read(answer, rows: [1, 2]) else {
                Issue.record("\(answer.prefix(8)) read as known")
                continue
            }
        }
    }
}
