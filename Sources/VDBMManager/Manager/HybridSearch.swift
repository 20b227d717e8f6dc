import MilvusClient
import VDBMDomain
import VDBMProtobuf
import VDBMUtils

extension VectorDBManager {
    /// Several searches of one collection whose hits a ranker fuses into one list per query: the
    /// hits of each query, best first. Every search has the same number of queries; each goes to
    /// the field its kind and name choose (as for `search`). With coalescing on, concurrent
    /// weighted-ranker hybrid searches that differ only in their queries leave as one (`HybridBatchKey`).
    nonisolated public func hybridSearch(_ request: HybridSearchRequest, deadline: Deadline) async throws(VectorDBError)
        -> [SearchResults] {
        if let problem = ResultWindow.problem("limit", count: request.limit, offset: request.offset) { throw .invalidArgument(problem) }
        guard (1...1024).contains(request.searches.count) else {
            throw .invalidArgument("a hybrid search has 1 to 1024 searches; got \(request.searches.count)")
        }
        let rankParams = try Self.rankParams(request)
        return try await withSchema(request.collection, deadline: deadline) { schema throws(VectorDBError) in
            try await require(.hybridSearch, deadline: deadline)
            var targets: [SearchTarget] = []
            var searches: [MilvusRequest.SubSearch] = []
            for (number, search) in request.searches.enumerated() {
                let target: SearchTarget
                do throws(VectorDBError) {
                    target = try SearchTarget(search.queries, field: search.vectorField, in: schema)
                } catch {
                    throw Self.naming(search: number, error)
                }
                if let feature = target.feature { try await require(feature, deadline: deadline) }
                guard target.count == targets.first?.count ?? target.count else {
                    throw .invalidArgument("searches[\(number)] has \(target.count) queries; searches[0] has \(targets[0].count)")
                }
                let limit = search.limit ?? request.limit + request.offset
                if let problem = ResultWindow.problem("searches[\(number)].limit", count: limit) { throw .invalidArgument(problem) }
                targets.append(target)
                searches.append(MilvusRequest.SubSearch(
                    queries: target.queries, dim: target.dimension, filter: search.filter,
                    params: MilvusRequest.searchParams(annsField: target.field.name, topK: limit, params: search.params, offset: 0)))
            }
            let queries = targets[0].count
            let (fields, dynamic, keepMeta) = try SchemaMapping.outputFields(request.outputFields, schema: schema)
            let milvus = self.milvus
            let subSearches = searches
            // One Milvus hybrid search of `searches` (this request's, or a batch's) with `count` queries each.
            let send: @Sendable ([MilvusRequest.SubSearch], Int, Deadline) async throws(VectorDBError) -> [SearchResults] = {
                searches, count, deadline throws(VectorDBError) in
                let reply = try await self.explainingNotLoaded(request.collection, deadline: deadline) { () throws(VectorDBError) in
                    try await milvus.hybridSearch(request.collection, searches: searches, rankParams: rankParams,
                                                  outputFields: request.outputFields.isEmpty ? [] : fields,
                                                  partitions: request.partitions, consistencyLevel: request.consistency?.rawValue,
                                                  deadline: deadline)
                }
                return try Self.results(reply, queries: count)
            }
            let results: [SearchResults]
            let database = MilvusCallContext.database
            if let hybridCoalescer,
               let key = HybridBatchKey(request, database: database, fields: targets.map(\.field.name), schema: schema) {
                let rows = HybridQueryRow.rows(targets.map(\.queries), dimensions: targets.map(\.dimension), count: queries)
                results = try await hybridCoalescer.search(key: key, vectors: rows, queries: queries, deadline: deadline) {
                    rows, count, deadline throws(VectorDBError) in
                    var merged = subSearches  // equal keys: any member's sub-searches, with the batch's queries
                    for index in merged.indices { merged[index].queries = HybridQueryRow.joined(rows, search: index) }
                    return try await Self.inDatabase(database) { () throws(VectorDBError) in try await send(merged, count, deadline) }
                }
            } else {
                results = try await send(subSearches, queries, deadline)
            }
            return Self.unpackingDynamicFields(results, names: dynamic, keepMeta: keepMeta)
        }
    }

    /// Milvus's `rank_params` for the request's ranker, limit and offset (as pymilvus sends them).
    static func rankParams(_ request: HybridSearchRequest) throws(VectorDBError) -> [MilvusKeyValue] {
        let strategy: String
        let params: [(key: String, value: JSONValue)]
        switch request.ranker {
        case .reciprocalRankFusion(let k):
            guard (1..<16_384).contains(k) else { throw .invalidArgument("the RRF ranker's k \(k) is outside 1...16383") }
            (strategy, params) = ("rrf", [("k", .number("\(k)"))])
        case .weighted(let weights, let rawScores):
            guard weights.count == request.searches.count else {
                throw .invalidArgument("the weighted ranker has \(weights.count) weights for \(request.searches.count) searches")
            }
            if let weight = weights.first(where: { !(0...1).contains($0) }) {
                throw .invalidArgument("the weighted ranker's weight \(weight) is outside 0...1")
            }
            (strategy, params) = ("weighted", [("weights", .array(weights.map { .number("\($0)") })), ("norm_score", .bool(!rawScores))])
        }
        return [MilvusKeyValue("strategy", strategy), MilvusKeyValue("params", JSONValue.object(params).text),
                MilvusKeyValue("limit", "\(request.limit)"), MilvusKeyValue("offset", "\(request.offset)"),
                MilvusKeyValue("round_decimal", "-1")]
    }

    /// An invalid sub-search's error, saying which one it is.
    private static func naming(search number: Int, _ error: VectorDBError) -> VectorDBError {
        guard case .invalidArgument(let reason) = error else { return error }
        return .invalidArgument("searches[\(number)]: \(reason)")
    }
}
