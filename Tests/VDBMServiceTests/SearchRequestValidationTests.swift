import GRPCNGHTTP2
import Testing
import VDBMDomain
@testable import VDBMProtobuf
@testable import VDBMService

/// Typed search parameters and grouping, as `RequestValidation` reads them from a request.
@Suite struct SearchRequestValidationTests {
    private let check = RequestValidation(limits: RequestLimits())

    private func search(params: [VDBMv1.Param] = [], groupBy: String = "", groupSize: Int = 0,
                        strict: Bool = false) -> VDBMv1.Search {
        VDBMv1.Search(collection: "docs", vectors: VDBMv1.Vectors(dimension: 2, values: [1, 2]), limit: 3, filter: "",
                      outputFields: [], params: params, partitions: [], consistency: 0, offset: 0, groupByField: groupBy,
                      groupSize: groupSize, strictGroupSize: strict)
    }

    @Test func paramsKeepTheirTypes() throws {
        let request = try check.search(search(params: [VDBMv1.Param(key: "ef", value: .int(64)),
                                                       VDBMv1.Param(key: "radius", value: .double(0.8)),
                                                       VDBMv1.Param(key: "mode", value: .string("fast"))]))
        #expect(request.params == ["ef": .int(64), "radius": .double(0.8), "mode": .string("fast")])
        #expect(MilvusKeyValue.jsonObject(request.params) == #"{"ef": 64, "mode": "fast", "radius": 0.8}"#)
    }

    @Test func aNumberMustBeFiniteAndTextHasNoNUL() {
        for bad in [Double.nan, .infinity, -.infinity] {
            #expect(throws: GRPCStatus.self) { try check.search(search(params: [VDBMv1.Param(key: "radius", value: .double(bad))])) }
        }
        #expect(throws: GRPCStatus(.invalidArgument, "params 'mode' contains a NUL character (U+0000)")) {
            try check.search(search(params: [VDBMv1.Param(key: "mode", value: .string("a\u{0}"))]))
        }
    }

    @Test func groupingNeedsAFieldAndABoundedSize() throws {
        #expect(try check.search(search(groupBy: "doc")).grouping == SearchGrouping(field: "doc", size: 1))
        #expect(try check.search(search(groupBy: "doc", groupSize: 3, strict: true)).grouping
            == SearchGrouping(field: "doc", size: 3, strictSize: true))
        #expect(try check.search(search()).grouping == nil)
        #expect(throws: GRPCStatus(.invalidArgument, "group_size and strict_group_size need a group_by_field")) {
            try check.search(search(groupSize: 2))
        }
        #expect(throws: GRPCStatus(.invalidArgument, "group_size is 1025; at most 1024")) {
            try check.search(search(groupBy: "doc", groupSize: 1025))
        }
        #expect(throws: GRPCStatus.self) { try check.search(search(groupBy: "not a name")) }
    }
}
