import GRPCNGHTTP2
import VDBMDomain
import VDBMProtobuf

/// The checks of Search and HybridSearch requests that need no schema.
extension RequestValidation {
    func search(_ request: VDBMv1.Search) throws(GRPCStatus) -> SearchRequest {
        try name(request.collection, kind: "collection")
        let queries = try queries(VDBMv1.Queries(vectors: request.vectors, sparseVectors: request.sparseVectors, texts: request.texts),
                                  what: "")
        let limit = request.limit == 0 ? 10 : request.limit
        if let problem = ResultWindow.problem("limit", count: limit, offset: request.offset) { throw invalid(problem) }
        try filter(request.filter)
        try outputFields(request.outputFields)
        if !request.partitions.isEmpty { try names(request.partitions, kind: "partition") }
        if !request.vectorField.isEmpty { try name(request.vectorField, kind: "vector_field") }
        var search = SearchRequest(collection: request.collection, vectors: [], limit: limit, filter: request.filter,
                                   outputFields: request.outputFields, params: try params(request.params, what: "params"),
                                   partitions: request.partitions, consistency: try consistency(request.consistency),
                                   offset: request.offset, grouping: try grouping(request),
                                   vectorField: request.vectorField.isEmpty ? nil : request.vectorField)
        switch queries {
        case .floatVectors(let values, let dimension): (search.vectors, search.dimension) = (values, dimension)
        case .sparseVectors(let rows): search.sparseVectors = rows
        case .texts(let texts): search.texts = texts
        }
        return search
    }

    /// A search iterator: its search checked as `Search`'s (one float vector, `limit` left 0),
    /// with the page size (0 means 1000) as its limit; and the hits in all (`nil`: every hit).
    func searchIterator(_ request: VDBMv1.SearchIterator) throws(GRPCStatus) -> (search: SearchRequest, limit: Int?) {
        guard request.search.limit == 0 else {
            throw invalid("search.limit is \(request.search.limit); an iterator takes page_size and limit instead")
        }
        guard request.search.sparseVectors.isEmpty, request.search.texts.isEmpty else {
            throw invalid("a search iterator takes one float vector")
        }
        let pageSize = request.pageSize == 0 ? 1000 : request.pageSize
        if let problem = ResultWindow.problem("page_size", count: pageSize) { throw invalid(problem) }
        var search = try self.search(request.search)
        search.limit = pageSize
        return (search, request.limit == 0 ? nil : Int(clamping: request.limit))
    }

    func hybridSearch(_ request: VDBMv1.HybridSearch) throws(GRPCStatus) -> HybridSearchRequest {
        try name(request.collection, kind: "collection")
        guard (1...Self.maxSubSearches).contains(request.searches.count) else {
            throw invalid("searches has \(request.searches.count) entries; a hybrid search has 1 to \(Self.maxSubSearches)")
        }
        let limit = request.limit == 0 ? 10 : request.limit
        if let problem = ResultWindow.problem("limit", count: limit, offset: request.offset) { throw invalid(problem) }
        var searches: [SubSearch] = []
        for (number, search) in request.searches.enumerated() {
            let what = "searches[\(number)]"
            if !search.vectorField.isEmpty { try name(search.vectorField, kind: "\(what).vector_field") }
            if search.limit != 0, let problem = ResultWindow.problem("\(what).limit", count: search.limit) { throw invalid(problem) }
            try filter(search.filter)
            searches.append(SubSearch(vectorField: search.vectorField.isEmpty ? nil : search.vectorField,
                                      queries: try queries(search.queries, what: "\(what)."),
                                      limit: search.limit == 0 ? nil : search.limit, filter: search.filter,
                                      params: try params(search.params, what: "\(what).params")))
        }
        let ranker: Ranker
        switch request.ranker {
        case .unset: ranker = .reciprocalRankFusion(k: 60)
        case .reciprocalRankFusion(let k): ranker = .reciprocalRankFusion(k: k == 0 ? 60 : k)
        case .weighted(let weights, let rawScores):
            try finite(weights, what: "ranker.weighted.weights")
            ranker = .weighted(weights, rawScores: rawScores)
        }
        try outputFields(request.outputFields)
        if !request.partitions.isEmpty { try names(request.partitions, kind: "partition") }
        return HybridSearchRequest(collection: request.collection, searches: searches, ranker: ranker, limit: limit,
                                   offset: request.offset, outputFields: request.outputFields, partitions: request.partitions,
                                   consistency: try consistency(request.consistency))
    }

    /// Milvus takes at most 1024 sub-searches in one hybrid search.
    static let maxSubSearches = 1024

    /// One kind of queries, within the per-call limit; `what` prefixes the field names in messages.
    private func queries(_ queries: VDBMv1.Queries, what: String) throws(GRPCStatus) -> SearchQueries {
        let vectors = queries.vectors
        let given = [!vectors.values.isEmpty || vectors.dimension != 0, !queries.sparseVectors.isEmpty, !queries.texts.isEmpty]
        guard given.filter({ $0 }).count <= 1 else {
            throw invalid("\(what)vectors, \(what)sparse_vectors and \(what)texts: give one kind of queries")
        }
        let result: SearchQueries
        if !queries.sparseVectors.isEmpty {
            for (row, vector) in queries.sparseVectors.enumerated() {
                if case .failure(let problem) = vector.sorted() { throw invalid("\(what)sparse_vectors row \(row): \(problem)") }
            }
            result = .sparseVectors(queries.sparseVectors)
        } else if !queries.texts.isEmpty {
            for (row, text) in queries.texts.enumerated() {
                if let problem = Names.nulProblem(in: text, what: "\(what)texts[\(row)]") { throw invalid(problem) }
                let bytes = text.utf8.count
                guard bytes <= limits.maxFilterBytes else {
                    throw invalid("\(what)texts[\(row)] is \(bytes) bytes; at most \(limits.maxFilterBytes) are allowed")
                }
            }
            result = .texts(queries.texts)
        } else {
            guard vectors.dimension > 0, !vectors.values.isEmpty else {
                throw invalid("\(what)vectors is empty: give \(what)vectors.dimension and at least one query vector "
                              + "(or \(what)sparse_vectors, or \(what)texts)")
            }
            guard vectors.values.count % vectors.dimension == 0 else {
                throw invalid("\(what)vectors: \(vectors.values.count) floats is not a whole number of "
                              + "\(vectors.dimension)-dimensional vectors")
            }
            try finite(vectors.values, what: "\(what)vectors")
            result = .floatVectors(vectors.values, dimension: vectors.dimension)
        }
        let count = result.count(dimension: vectors.dimension)
        guard count <= limits.maxSearchVectors else {
            throw invalid("\(count) queries in one call; at most \(limits.maxSearchVectors)")
        }
        return result
    }

    /// Milvus caps a group at 1024 hits.
    static let maxGroupSize = 1024

    private func grouping(_ request: VDBMv1.Search) throws(GRPCStatus) -> SearchGrouping? {
        guard !request.groupByField.isEmpty else {
            if request.groupSize != 0 || request.strictGroupSize {
                throw invalid("group_size and strict_group_size need a group_by_field")
            }
            return nil
        }
        try name(request.groupByField, kind: "group_by_field")
        let size = request.groupSize == 0 ? 1 : request.groupSize
        guard size <= Self.maxGroupSize else { throw invalid("group_size is \(size); at most \(Self.maxGroupSize)") }
        return SearchGrouping(field: request.groupByField, size: size, strictSize: request.strictGroupSize)
    }
}
