import VDBMDomain

/// Hybrid searches merge like searches: concurrent ones equal in everything but their queries
/// leave as one Milvus hybrid search whose sub-searches carry every member's queries, in member
/// order, and each member gets its own run of the fused result sets.
///
/// Only with the weighted ranker. Milvus fuses each query's hits on their own with it (merged and
/// lone answers measured equal on Milvus Lite 2.5.1 and 3.2.2), but Milvus's own engine ranks RRF
/// hits across all the queries of a request: with three queries, Lite 2.5.1 scored the second
/// query's best hit 1/(60+11) instead of 1/(60+1) (measured 2026-12-05). A merged RRF search
/// would get other scores, and could get another order, than alone, so it always leaves alone.
struct HybridBatchKey: Hashable, Sendable {
    let database: String?
    /// The request with each sub-search's queries emptied (their kind stays).
    let shape: HybridSearchRequest
    /// The field each sub-search goes to (the request may leave it to the schema).
    let fields: [String]
    let schema: CollectionSchemaInfo

    /// nil when the request may not share a Milvus search (see above).
    init?(_ request: HybridSearchRequest, database: String?, fields: [String], schema: CollectionSchemaInfo) {
        guard case .weighted = request.ranker else { return nil }
        var shape = request
        for index in shape.searches.indices { shape.searches[index].queries = shape.searches[index].queries.emptied }
        (self.database, self.shape, self.fields, self.schema) = (database, shape, fields, schema)
    }
}

/// One query of a hybrid search: what it searches with in each sub-search, in order.
struct HybridQueryRow: Sendable, Hashable {
    var queries: [SearchQueries]

    /// The rows of a hybrid search whose sub-searches have `count` queries each (float vectors
    /// of `dimensions[i]` floats in sub-search i).
    static func rows(_ searches: [SearchQueries], dimensions: [Int], count: Int) -> [HybridQueryRow] {
        let split = zip(searches, dimensions).map { queries, dimension in queries.split(dimension: dimension) }
        return (0..<count).map { row in HybridQueryRow(queries: split.map { $0[row] }) }
    }

    /// Sub-search `index`'s queries of every row, in row order.
    static func joined(_ rows: [HybridQueryRow], search index: Int) -> SearchQueries {
        guard let first = rows.first?.queries[index] else { return .texts([]) }
        switch first {
        case .floatVectors(_, let dimension):
            var values: [Float] = []
            for row in rows { if case .floatVectors(let part, _) = row.queries[index] { values += part } }
            return .floatVectors(values, dimension: dimension)
        case .sparseVectors:
            return .sparseVectors(rows.flatMap { row -> [SparseVector] in
                if case .sparseVectors(let part) = row.queries[index] { part } else { [] }
            })
        case .texts:
            return .texts(rows.flatMap { row -> [String] in if case .texts(let part) = row.queries[index] { part } else { [] } })
        }
    }
}

extension SearchQueries {
    /// The same kind with no queries.
    var emptied: SearchQueries {
        switch self {
        case .floatVectors: .floatVectors([], dimension: nil)
        case .sparseVectors: .sparseVectors([])
        case .texts: .texts([])
        }
    }

    /// One `SearchQueries` per query.
    func split(dimension: Int) -> [SearchQueries] {
        switch self {
        case .floatVectors(let values, let given):
            guard dimension > 0 else { return [] }
            return stride(from: 0, to: values.count - dimension + 1, by: dimension).map {
                .floatVectors(Array(values[$0..<($0 + dimension)]), dimension: given)
            }
        case .sparseVectors(let rows): return rows.map { .sparseVectors([$0]) }
        case .texts(let texts): return texts.map { .texts([$0]) }
        }
    }
}
