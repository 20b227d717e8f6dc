import Testing
import VDBMDomain
@testable import VDBMManager

@Suite struct SearchBatchKeyTests {
    private let schema = CollectionSchemaInfo(name: "docs", fields: [
        FieldInfo(name: "id", type: .int64, isPrimaryKey: true),
        FieldInfo(name: "embedding", type: .floatVector, dimension: 4),
    ])

    private func key(_ request: SearchRequest, schema: CollectionSchemaInfo? = nil) -> SearchBatchKey {
        SearchBatchKey(request, vectorField: "embedding", dimension: 4, schema: schema ?? self.schema)
    }

    @Test func searchesThatDifferOnlyInTheirVectorsHaveEqualKeys() {
        let first = key(SearchRequest(collection: "docs", vectors: [1, 2, 3, 4], filter: "id > 1"))
        let second = key(SearchRequest(collection: "docs", vectors: [5, 6, 7, 8, 9, 10, 11, 12], filter: "id > 1"))
        #expect(first == second)
        #expect(first.hashValue == second.hashValue)
        #expect(Set([first, second]).count == 1)
    }

    @Test func anyOtherDifferenceMakesAnotherKey() {
        let base = SearchRequest(collection: "docs", vectors: [1, 2, 3, 4])
        var variants: [SearchRequest] = []
        for change in 0..<7 {
            var request = base
            switch change {
            case 0: request.filter = "id > 1"
            case 1: request.limit = 11
            case 2: request.outputFields = ["id"]
            case 3: request.partitions = ["p1"]
            case 4: request.collection = "other"
            case 5: request.params = ["ef": 32]
            default: request.offset = 1
            }
            variants.append(request)
        }
        let keys = [key(base)] + variants.map { key($0) }
        #expect(Set(keys).count == keys.count)
        var wider = schema
        wider.fields.append(FieldInfo(name: "tag", type: .varchar, maxLength: 8))
        #expect(key(base) != key(base, schema: wider))
    }
}
