import Testing
import VDBMDomain
@testable import VDBMProtobuf
import CVDBMProtos

/// protobuf-c keeps strings as C strings; the bridge must read them with their length (an
/// embedded NUL is part of the value) and check UTF-8 itself. Messages are built byte by byte
/// here, independently of protobuf-c.
@Suite struct StringFieldTests {
    /// A length-delimited field: tag, length, bytes.
    private func field(_ number: UInt8, _ bytes: [UInt8]) -> [UInt8] {
        precondition(bytes.count < 128)
        return [number << 3 | 2, UInt8(bytes.count)] + bytes
    }

    private func field(_ number: UInt8, _ text: String) -> [UInt8] { field(number, Array(text.utf8)) }

    @Test func aNameWithAnEmbeddedNULIsReadWhole() throws {
        // CollectionRequest.collection = 1
        let name = "victim\u{0}other"
        #expect(try VDBMv1.decodeCollection(field(1, name)).collection == name)
    }

    @Test func aFilterWithAnEmbeddedNULIsReadWhole() throws {
        // DeleteRequest.collection = 1, filter = 4
        let filter = "id >= 0\u{0} and id == 2"
        let request = try VDBMv1.decodeDelete(field(1, "docs") + field(4, filter))
        #expect(request.filter == filter)
        #expect(request.collection == "docs")
    }

    @Test func stringValuesKeepEveryByte() throws {
        // WriteRequest.columns = 3 { Column.name = 1, strings = 7 { StringValues.values = 1 } }
        let values = ["ab\u{0}cd", "naïve 東京 🚀", ""]
        let strings = values.flatMap { field(1, $0) }
        let column = field(1, "title") + field(7, strings)
        let request = try VDBMv1.decodeWrite(field(1, "docs") + field(3, column))
        #expect(request.columns.first?.values == .strings(values))
    }

    @Test func invalidUTF8IsAnErrorNamingTheField() {
        #expect(throws: ProtobufDecodingError(messageType: "vdbm.v1.CountRequest", invalidUTF8Field: "filter")) {
            try VDBMv1.decodeCount(field(1, "docs") + field(2, [0x69, 0x64, 0xFF, 0x3D]))
        }
        #expect(throws: ProtobufDecodingError(messageType: "vdbm.v1.CollectionRequest", invalidUTF8Field: "collection")) {
            try VDBMv1.decodeCollection(field(1, [0xC3]))  // a lead byte with no continuation
        }
        let column = field(1, "title") + field(7, field(1, [0x61, 0xED, 0xA0, 0x80]))  // an encoded surrogate
        #expect(throws: ProtobufDecodingError(messageType: "vdbm.v1.WriteRequest", invalidUTF8Field: "columns.strings")) {
            try VDBMv1.decodeWrite(field(1, "docs") + field(3, column))
        }
    }

    @Test func theErrorMessageSaysWhichFieldIsNotUTF8() {
        let error = ProtobufDecodingError(messageType: "vdbm.v1.CountRequest", invalidUTF8Field: "filter")
        #expect(error.description == "filter is not valid UTF-8 (in vdbm.v1.CountRequest)")
    }

    @Test func aVarcharFromMilvusKeepsEveryByte() throws {
        // QueryResults.fields_data = 2 { FieldData.type = 1 (21), field_name = 2, scalars = 3 { string_data = 6 { data = 1 } } }
        let values = ["ab\u{0}cd", "naïve 東京 🚀"]
        let fieldData = [0x08, 21] + field(2, "title") + field(3, field(6, values.flatMap { field(1, $0) }))
        let reply = try MilvusResponse.Query(serializedBytes: field(2, fieldData))
        #expect(reply.fields.first?.values == .strings(values))
        #expect(reply.fields.first?.name == "title")
    }

    @Test func stringsWrittenToMilvusKeepEveryByte() throws {
        // Encoded by the bridge, read back by the bridge's reader: the NUL survives both ways.
        let column = MilvusFieldData(name: "title", dataType: 21, values: .strings(["x\u{0}y", "日本"]))
        let bytes = ProtobufC.pack { arena in
            arena.message(milvus__proto__milvus__query_results__init) { message in
                (message.n_fields_data, message.fields_data) = (1, arena.pointers([column.build(in: arena)]))
            }
        }
        #expect(bytes.contains(0))
        #expect(try MilvusResponse.Query(serializedBytes: bytes).fields == [column])
    }

    @Test func vdbmResponsesCarryStringsWhole() throws {
        let bytes = VDBMv1.encodeQuery(QueryResult(columns: ["title": .strings(["a\u{0}b"])]))
        // QueryResponse.columns = 1 { name = 1 "title", strings = 7 { values = 1 "a\0b" } }, row_count = 2 (1)
        #expect(bytes == field(1, field(1, "title") + field(7, field(1, "a\u{0}b"))) + [0x10, 0x01])
    }
}
