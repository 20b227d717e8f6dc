import MilvusClient
import Testing
import VDBMDomain
@testable import VDBMManager

@Suite struct ExportPagingTests {
    @Test func theFilterBoundsTheKeyAfterTheCursorAndKeepsTheCallersFilter() {
        #expect(ExportPaging.filter("", key: "id", after: nil) == "")
        #expect(ExportPaging.filter("  ", key: "id", after: .int64(-3)) == "id > -3")
        #expect(ExportPaging.filter("a > 1 or b", key: "id", after: .int64(9)) == "(a > 1 or b) and id > 9")
        #expect(ExportPaging.filter("", key: "pk", after: .string("x\"y\\z")) == #"pk > "x\"y\\z""#)
    }

    @Test func aPageIsPutInKeyOrderAndItsLastKeyIsTheCursor() throws {
        let page = QueryResult(columns: ["id": .int64s([5, 1, 3]), "v": .floatVectors(dimension: 2, values: [5, 5, 1, 1, 3, 3])])
        let (rows, cursor) = try ExportPaging.ordered(page, key: "id")
        #expect(rows.columns["id"] == .int64s([1, 3, 5]))
        #expect(rows.columns["v"] == .floatVectors(dimension: 2, values: [1, 1, 3, 3, 5, 5]))
        #expect(cursor == .int64(5))
    }

    @Test func stringKeysAreOrderedByteByByteAsMilvusDoes() throws {
        // "é" (C3 A9) sorts after "z" by bytes; Swift's String ordering agrees here, but not for
        // every pair, so the order is taken on UTF-8 bytes.
        let page = QueryResult(columns: ["pk": .strings(["é", "z", "a"])])
        let (rows, cursor) = try ExportPaging.ordered(page, key: "pk")
        #expect(rows.columns["pk"] == .strings(["a", "z", "é"]))
        #expect(cursor == .string("é"))
    }

    @Test func theReadPointIsNowInMilvusHybridForm() {
        let stamp = ExportPaging.hybridTimestampNow()
        #expect(stamp & 0x3FFFF == 0)  // no logical part
        let milliseconds = stamp >> 18
        #expect(milliseconds > 1_767_225_600_000)  // after 2026-01-01
    }

    @Test func anEmptyPageEndsTheExportAndAPageWithoutItsKeyIsADefect() throws {
        #expect(try ExportPaging.ordered(QueryResult(columns: ["id": .int64s([])]), key: "id").next == nil)
        #expect(throws: VectorDBError.self) { try ExportPaging.ordered(QueryResult(columns: ["x": .int64s([1])]), key: "id") }
    }
}
