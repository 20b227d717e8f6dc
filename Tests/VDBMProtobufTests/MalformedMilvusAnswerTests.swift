import Testing
import VDBMDomain
@testable import VDBMProtobuf

/// The checks every count of a Milvus answer passes before vdbm cuts or indexes with it.
@Suite struct MalformedMilvusAnswerTests {
    /// Two query vectors with 2 and 1 hits, and a column.
    private let answer = MilvusResponse.Search(
        status: .success, numQueries: 2, topK: 2, topks: [2, 1], ids: .int64s([5, 6, 9]), scores: [0.1, 0.2, 0.3],
        fields: [MilvusFieldData(name: "title", dataType: 21, values: .strings(["a", "b", "c"]))])

    private func problem(_ reply: MilvusResponse.Search, queries: Int = 2) -> String? {
        do {
            _ = try reply.hitRanges(queries: queries)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func aWellFormedAnswerGivesEachQueryItsRows() throws {
        #expect(try answer.hitRanges(queries: 2) == [0..<2, 2..<3])
        let none = MilvusResponse.Search(status: .success, numQueries: 3, topK: 5, topks: [0, 0, 0], ids: .int64s([]),
                                         scores: [], fields: [])
        #expect(try none.hitRanges(queries: 3) == [0..<0, 0..<0, 0..<0])
    }

    @Test func topksNearInt64MaxAreMalformed() {
        var hostile = answer
        hostile.topks = [.max, 1]
        #expect(problem(hostile) == "Milvus sent a malformed search answer: topks add up past 9223372036854775807 at query 1")
        hostile.topks = [.max, 0]
        #expect(problem(hostile) == "Milvus sent a malformed search answer: 3 ids for 9223372036854775807 hits")
    }

    @Test func aNegativeTopkIsMalformed() {
        var hostile = answer
        hostile.topks = [4, -1]
        #expect(problem(hostile) == "Milvus sent a malformed search answer: topks[1] is negative (-1)")
    }

    @Test func aQueryCountOtherThanTheQueriesSentIsMalformed() {
        for count: Int64 in [.max, -2, 0, 3] {
            var hostile = answer
            hostile.numQueries = count
            #expect(problem(hostile) == "Milvus sent a malformed search answer: num_queries is \(count) for 2 query vectors sent")
        }
        #expect(problem(answer, queries: 3) == "Milvus sent a malformed search answer: num_queries is 2 for 3 query vectors sent")
        var fewer = answer
        fewer.topks = [3]
        #expect(problem(fewer) == "Milvus sent a malformed search answer: 1 topks for 2 query vectors sent")
    }

    @Test func idsScoresAndColumnsMustHoldEveryHit() {
        var ids = answer
        ids.ids = .int64s([5, 6])
        #expect(problem(ids) == "Milvus sent a malformed search answer: 2 ids for 3 hits")
        var scores = answer
        scores.scores = [0.1, 0.2]
        #expect(problem(scores) == "Milvus sent a malformed search answer: 2 scores for 3 hits")
        var column = answer
        column.fields[0].values = .strings(["a"])
        #expect(problem(column) == "Milvus sent a malformed search answer: column 'title' has 1 rows; the answer has 3 hits")
    }

    @Test func anEmptyAnswerIsMalformed() {
        let empty = MilvusResponse.Search(status: .success, numQueries: 0, topK: 0, topks: [], ids: .int64s([]), scores: [],
                                          fields: [])
        #expect(problem(empty) == "Milvus sent a malformed search answer: num_queries is 0 for 2 query vectors sent")
    }

    @Test func vectorColumnsMustHoldWholeRowsOfAPositiveDimension() throws {
        for (dimension, floats) in [(0, 6), (-2, 6), (4, 6), (Int.max, 6)] {
            let column = MilvusFieldData(name: "v", dataType: 101,
                                         values: .floatVectors(dimension: dimension, values: Array(repeating: 1, count: floats)))
            #expect(throws: MalformedMilvusAnswer.self) { try MilvusFieldData.checkRows([column], rows: 3, answer: "query") }
        }
        let whole = MilvusFieldData(name: "v", dataType: 101, values: .floatVectors(dimension: 2, values: [1, 1, 2, 2, 3, 3]))
        #expect(try MilvusFieldData.checkRows([whole], rows: 3, answer: "query") == 3)
    }

    @Test func columnsOfAQueryMustAgreeWithEachOther() throws {
        let ids = MilvusFieldData(name: "id", dataType: 5, values: .int64s([1, 2, 3]))
        let short = MilvusFieldData(name: "title", dataType: 21, values: .strings(["a"]))
        #expect(throws: MalformedMilvusAnswer("query", "column 'title' has 1 rows; column 'id' has 3")) {
            try MilvusFieldData.checkRows([ids, short], answer: "query")
        }
        // A column vdbm cannot read (an array, sparse vectors) has no rows to compare.
        let unreadable = MilvusFieldData(name: "tags", dataType: 22, values: .strings([]), isReadable: false)
        #expect(try MilvusFieldData.checkRows([ids, unreadable], answer: "query") == 3)
        #expect(try MilvusFieldData.checkRows([], answer: "query") == 0)
    }

    @Test func columnsOfAKindVdbmDoesNotReadAreMarkedUnreadable() throws {
        // A SearchResults whose column holds an ArrayArray (scalars case 8): read, but not readable.
        let bytes: [UInt8] = [
            0x12, 0x12,                          // results (2), 18 bytes
            0x08, 0x01,                          // num_queries 1
            0x1A, 0x0B,                          // fields_data (3), 11 bytes
            0x08, 0x16,                          // type 22 (Array)
            0x12, 0x01, 0x61,                    // field_name "a"
            0x1A, 0x04, 0x42, 0x02, 0x10, 0x05,  // scalars { array_data (8) { element_type 5 } }
            0x32, 0x01, 0x00,                    // topks [0]
        ]
        let reply = try MilvusResponse.Search(serializedBytes: bytes)
        #expect(reply.fields.count == 1 && reply.fields[0].name == "a" && !reply.fields[0].isReadable)
        #expect(try reply.hitRanges(queries: 1) == [0..<0])
    }
}
