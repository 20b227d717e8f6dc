import CVDBMProtos
import Testing
import VDBMDomain
@testable import VDBMProtobuf

/// The Milvus messages of sparse vectors, full-text and hybrid search, functions, default values
/// and databases, read back with protobuf-c as Milvus would read them.
@Suite struct TodaysSearchMessagesTests {
    @Test func aSparseVectorIsLittleEndianIndexValuePairs() throws {
        let vector = SparseVector(indices: [1, 300], values: [0.5, -2])
        let bytes = MilvusSparseRows.bytes(vector)
        #expect(bytes == [1, 0, 0, 0, 0, 0, 0, 0x3F, 0x2C, 0x01, 0, 0, 0, 0, 0, 0xC0])
        #expect(bytes.withUnsafeBytes { MilvusSparseRows.read($0) } == vector)
        #expect([UInt8](repeating: 0, count: 7).withUnsafeBytes { MilvusSparseRows.read($0) } == nil)
        #expect(MilvusSparseRows.dimension([vector, SparseVector(indices: [], values: [])]) == 301)
        #expect(MilvusSparseRows.dimension([]) == 0)
    }

    @Test func aSparseColumnRoundTripsThroughAnInsert() throws {
        let rows = [SparseVector(indices: [2, 7], values: [0.25, 0.75]), SparseVector(indices: [], values: [])]
        let bytes = MilvusRequest.insert("docs", fields: [MilvusFieldData(name: "s", dataType: 104, values: .sparseVectors(rows))])
        let read = try decoded(bytes, milvus__proto__milvus__insert_request__unpack, milvus__proto__milvus__insert_request__free_unpacked) {
            message in
            #expect(message.pointee.num_rows == 2)
            let field = try #require(message.pointee.fields_data?[0])
            #expect(field.pointee.vectors.pointee.dim == 8)
            return MilvusFieldData.read(UnsafePointer(field))
        }
        #expect(read.values == .sparseVectors(rows) && read.isReadable)
    }

    @Test func sparseAndTextQueriesGoAsTheirPlaceholderTypes() throws {
        for (queries, type, first) in [(SearchQueries.sparseVectors([SparseVector(indices: [1], values: [0.5])]), Int32(104),
                                        [UInt8]([1, 0, 0, 0, 0, 0, 0, 0x3F])),
                                       (.texts(["naïve", "b"]), 21, Array("naïve".utf8))] {
            let group = MilvusRequest.placeholderGroup(queries, dim: 0)
            try decoded(group, milvus__proto__common__placeholder_group__unpack, milvus__proto__common__placeholder_group__free_unpacked) {
                message in
                let value = try #require(message.pointee.placeholders?[0]).pointee
                #expect(value.type == type && ProtobufC.text(value.tag) == "$0")
                #expect(ProtobufC.bytes(value.values[0]) == first)
                #expect(value.n_values == queries.count(dimension: 0))
            }
        }
    }

    @Test func aHybridSearchCarriesEachSearchAndTheRanker() throws {
        let searches = [
            MilvusRequest.SubSearch(queries: .floatVectors([1, 2, 3, 4], dimension: 2), dim: 2, filter: "n > 1",
                                    params: [MilvusKeyValue("anns_field", "dense")]),
            MilvusRequest.SubSearch(queries: .texts(["a", "b"]), dim: 0, filter: "", params: [MilvusKeyValue("anns_field", "bm25")]),
        ]
        let bytes = MilvusRequest.hybridSearch("docs", searches: searches, rankParams: [MilvusKeyValue("strategy", "rrf")],
                                               outputFields: ["title"], partitions: ["p"], consistencyLevel: nil)
        try decoded(bytes, milvus__proto__milvus__hybrid_search_request__unpack,
                    milvus__proto__milvus__hybrid_search_request__free_unpacked) { message in
            let m = message.pointee
            #expect(ProtobufC.text(m.collection_name) == "docs" && m.n_requests == 2 && m.use_default_consistency == 1)
            #expect(MilvusKeyValue.read(m.n_rank_params, m.rank_params) == [MilvusKeyValue("strategy", "rrf")])
            #expect(ProtobufC.texts(m.n_output_fields, m.output_fields) == ["title"])
            #expect(ProtobufC.texts(m.n_partition_names, m.partition_names) == ["p"])
            let dense = try #require(m.requests?[0]).pointee, text = try #require(m.requests?[1]).pointee
            #expect(dense.nq == 2 && text.nq == 2 && ProtobufC.text(dense.dsl) == "n > 1" && dense.dsl_type == 1)
            #expect(MilvusKeyValue.read(text.n_search_params, text.search_params) == [MilvusKeyValue("anns_field", "bm25")])
        }
    }

    @Test func aSchemaCarriesFunctionsAndDefaults() throws {
        var text = MilvusFieldSchema(name: "text", dataType: 21, typeParams: [MilvusKeyValue("enable_analyzer", "true")])
        text.defaultValue = .string("none")
        var sparse = MilvusFieldSchema(name: "bm25", dataType: 104)
        sparse.isFunctionOutput = true
        var schema = MilvusCollectionSchema(name: "docs", fields: [MilvusFieldSchema(name: "id", isPrimaryKey: true, dataType: 5),
                                                                   text, sparse])
        schema.functions = [MilvusFunctionSchema(name: "f", type: 1, inputFields: ["text"], outputFields: ["bm25"])]
        let read = try MilvusCollectionSchema(serializedBytes: schema.serializedBytes())
        #expect(read.functions == schema.functions)
        #expect(read.fields.map(\.hasDefaultValue) == [false, true, false])
        #expect(read.fields.map(\.isFunctionOutput) == [false, false, true])
        for value in [MilvusDefaultValue.bool(true), .int32(-3), .int64(1 << 40), .float(0.5), .double(2.5), .string("x")] {
            var field = MilvusFieldSchema(name: "f", dataType: 5)
            field.defaultValue = value
            let bytes = MilvusCollectionSchema(name: "c", fields: [field]).serializedBytes()
            #expect(try MilvusCollectionSchema(serializedBytes: bytes).fields[0].hasDefaultValue)
        }
    }

    @Test func databaseRequestsAndAnswers() throws {
        try decoded(MilvusRequest.createDatabase("tenants"), milvus__proto__milvus__create_database_request__unpack,
                    milvus__proto__milvus__create_database_request__free_unpacked) { #expect(ProtobufC.text($0.pointee.db_name) == "tenants") }
        try decoded(MilvusRequest.dropDatabase("tenants"), milvus__proto__milvus__drop_database_request__unpack,
                    milvus__proto__milvus__drop_database_request__free_unpacked) { #expect(ProtobufC.text($0.pointee.db_name) == "tenants") }
        #expect(MilvusRequest.listDatabases().isEmpty)
        let answer = ProtobufC.pack { arena in
            arena.message(milvus__proto__milvus__list_databases_response__init) { message in
                (message.n_db_names, message.db_names) = (2, arena.strings(["default", "tenants"]))
            }
        }
        let names = try MilvusResponse.Names.databases(answer)
        #expect(names.names == ["default", "tenants"] && names.status.isSuccess)
        try decoded(MilvusRequest.createCollection("c", schema: MilvusCollectionSchema(name: "c", fields: []), partitions: 8),
                    milvus__proto__milvus__create_collection_request__unpack,
                    milvus__proto__milvus__create_collection_request__free_unpacked) { #expect($0.pointee.num_partitions == 8) }
    }

    /// Unpacks `bytes` with protobuf-c, hands the message to `body`, frees it.
    @discardableResult
    private func decoded<Message, Value>(
        _ bytes: [UInt8], _ unpack: (UnsafeMutablePointer<ProtobufCAllocator>?, Int, UnsafePointer<UInt8>?) -> UnsafeMutablePointer<Message>?,
        _ free: (UnsafeMutablePointer<Message>?, UnsafeMutablePointer<ProtobufCAllocator>?) -> Void,
        _ body: (UnsafeMutablePointer<Message>) throws -> Value
    ) throws -> Value {
        let message = try #require(bytes.withUnsafeBufferPointer { unpack(nil, $0.count, $0.baseAddress) })
        defer { free(message, nil) }
        return try body(message)
    }
}
