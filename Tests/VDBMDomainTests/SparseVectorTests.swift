import Testing
import VDBMDomain

@Suite struct SparseVectorTests {
    @Test func componentsAreSortedByIndexWithTheirValues() throws {
        let sorted = try SparseVector(indices: [9, 2, 5], values: [0.9, 0.2, 0.5]).sorted().get()
        #expect(sorted == SparseVector(indices: [2, 5, 9], values: [0.2, 0.5, 0.9]))
        #expect(try SparseVector(indices: [], values: []).sorted().get() == SparseVector(indices: [], values: []))
    }

    @Test func whatIsNotASparseVectorSaysWhy() {
        let cases: [(SparseVector, String)] = [
            (SparseVector(indices: [1, 2], values: [0.5]), "2 indices for 1 values"),
            (SparseVector(indices: [3, 1, 3], values: [1, 2, 3]), "index 3 appears twice"),
            (SparseVector(indices: [UInt32.max], values: [1]), "index 4294967295 is too large (at most 4294967294)"),
            (SparseVector(indices: [1], values: [.nan]), "value nan is not finite"),
        ]
        for (vector, reason) in cases {
            guard case .failure(let problem) = vector.sorted() else {
                Issue.record("\(vector) passed")
                continue
            }
            #expect(problem.description == reason)
        }
    }

    @Test func queriesCountByTheirKind() {
        #expect(SearchQueries.floatVectors([1, 2, 3, 4], dimension: 2).count(dimension: 2) == 2)
        #expect(SearchQueries.floatVectors([1, 2], dimension: nil).count(dimension: 0) == 0)
        #expect(SearchQueries.sparseVectors([SparseVector(indices: [1], values: [1])]).count(dimension: 0) == 1)
        #expect(SearchQueries.texts(["a", "b", "c"]).count(dimension: 7) == 3)
        #expect([SearchQueries.floatVectors([], dimension: nil), .sparseVectors([]), .texts([])].map(\.kind)
            == ["float vectors", "sparse vectors", "texts"])
    }

    @Test func aSparseColumnIsCutLikeAnyOther() {
        let rows = [SparseVector(indices: [1], values: [1]), SparseVector(indices: [2], values: [2]),
                    SparseVector(indices: [3], values: [3])]
        let column = FieldValues.sparseVectors(rows)
        #expect(column.count == 3)
        #expect(column.rows(1..<3) == .sparseVectors(Array(rows[1...])))
        #expect(column.rows(at: [2, 0]) == .sparseVectors([rows[2], rows[0]]))
        #expect(column.value(at: 1) == .sparseVector(rows[1]))
    }

    @Test func aSearchRequestSaysWhichQueriesItHas() {
        var request = SearchRequest(collection: "c", vectors: [1, 2], dimension: 2)
        #expect(request.queries == .floatVectors([1, 2], dimension: 2))
        request.texts = ["words"]
        #expect(request.queries == .texts(["words"]))
        request.sparseVectors = [SparseVector(indices: [1], values: [1])]
        #expect(request.queries == .sparseVectors(request.sparseVectors))
    }
}
