import CVDBMProtos
import Testing
@testable import VDBMProtobuf

@Suite struct MilvusMessagesTests {
    @Test func statusRoundTripsEveryField() throws {
        let status = MilvusStatus(errorCode: 49, reason: "rate limit exceeded", code: 8, retriable: true, detail: "d")
        #expect(try MilvusStatus(serializedBytes: status.serializedBytes()) == status)
        #expect(!status.isSuccess)
        #expect(try MilvusStatus(serializedBytes: []).isSuccess)
    }

    @Test func schemaRoundTripsFieldsAndTypeParams() throws {
        let schema = MilvusCollectionSchema(name: "docs", description: "d", autoID: true, fields: [
            MilvusFieldSchema(name: "id", isPrimaryKey: true, dataType: 5, autoID: true),
            MilvusFieldSchema(name: "v", dataType: 101, typeParams: [MilvusKeyValue("dim", "128")]),
            MilvusFieldSchema(name: "title", dataType: 21, typeParams: [MilvusKeyValue("max_length", "512")], nullable: true),
        ], enableDynamicField: true)
        #expect(try MilvusCollectionSchema(serializedBytes: schema.serializedBytes()) == schema)
    }

    @Test func placeholderGroupCarriesOneLittleEndianBlobPerVector() {
        let bytes = MilvusRequest.placeholderGroup(vectors: [1, 2, 3, 4], dim: 2)
        // PlaceholderGroup.placeholders (field 1, length-delimited) holding tag "$0", type 101 and two 8-byte values.
        let one: [UInt8] = [0x00, 0x00, 0x80, 0x3F]   // 1.0f
        let two: [UInt8] = [0x00, 0x00, 0x00, 0x40]   // 2.0f
        let value: [UInt8] = [0x0A, 0x02, 0x24, 0x30, 0x10, 0x65, 0x1A, 0x08] + one + two
            + [0x1A, 0x08, 0x00, 0x00, 0x40, 0x40, 0x00, 0x00, 0x80, 0x40]
        #expect(bytes == [0x0A, UInt8(value.count)] + value)
    }

    @Test func malformedResponsesThrowNamingTheMessage() {
        #expect(throws: ProtobufDecodingError(messageType: "milvus.proto.milvus.SearchResults")) {
            try MilvusResponse.Search(serializedBytes: [0x12, 0x7F])
        }
    }
}

/// What a described field says about rows that leave it out.
@Suite struct FieldSchemaFillTests {
    private func described(_ configure: (UnsafeMutablePointer<Milvus__Proto__Schema__FieldSchema>, ProtobufCArena) -> Void)
        -> MilvusFieldSchema? {
        let bytes = ProtobufC.pack { arena in
            let field = arena.message(milvus__proto__schema__field_schema__init) { field in
                field.name = arena.string("f")
                field.data_type = 21
            }
            configure(field, arena)
            let schema = arena.message(milvus__proto__schema__collection_schema__init) { schema in
                (schema.n_fields, schema.fields) = (1, arena.pointers([field]))
            }
            return arena.message(milvus__proto__milvus__describe_collection_response__init) { $0.schema = schema }
        }
        return try? MilvusResponse.DescribeCollection(serializedBytes: bytes).schema?.fields.first
    }

    @Test func aDefaultValueAndAFunctionsOutputAreRead() {
        #expect(described { _, _ in }.map { [$0.hasDefaultValue, $0.isFunctionOutput] } == [false, false])
        #expect(described { field, arena in
            field.pointee.default_value = MilvusDefaultValue.string("en").build(in: arena)
        }?.hasDefaultValue == true)
        #expect(described { field, _ in field.pointee.is_function_output = 1 }?.isFunctionOutput == true)
    }
}
