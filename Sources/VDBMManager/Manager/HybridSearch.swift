import MilvusClient
import VDBMDomain
import VDBMProtobuf
import VDBMUtils

extension VectorDBManager {
    /// Several searches of one collection whose hits a ranker fuses into one list per query: the
    /// hits of each query, best first. Every search has the same number of queries; each goes to
    /// the field its kind and name choose (as for `search`). Not coalesced: see docs/architecture.md.
    nonisolated public func hybridSearch(_ request: HybridSearchRequest, deadline: Deadline) async throws(VectorDBError)
        -> [SearchResults] {
        if let problem = ResultWindow.problem("limit", count: request.limit, offset: request.offset) { throw .invalidArgument(problem) }
        guard (1...1024).contains(request.searches.count) else {
            throw .invalidArgument("a hybrid search has 1 to 1024 searches; got \(request.searches.count)")
        }
        let rankParams = try Self.rankParams(request)
        return try await withSchema(request.collection, deadline: deadline) { schema throws(VectorDBError) in
            try await require(.hybridSearch, deadline: deadline)
            var searches: [MilvusRequest.SubSearch] = []
            var queries = 0
            for (number, search) in request.searches.enumerated() {
                let target: SearchTarget
                do throws(VectorDBError) {
                    target = try SearchTarget(search.queries, field: search.vectorField, in: schema)
                } catch {
                    throw Self.naming(search: number, error)
                }
                if let feature = target.feature { try await require(feature, deadline: deadline) }
                if number == 0 { queries = target.count }
                guard target.count == queries else {
                    throw .invalidArgument("searches[\(number)] has \(target.count) queries; searches[0] has \(queries)")
                }
                let limit = search.limit ?? request.limit + request.offset
                if let problem = ResultWindow.problem("searches[\(number)].limit", count: limit) { throw .invalidArgument(problem) }
                searches.append(MilvusRequest.SubSearch(
                    queries: target.queries, dim: target.dimension, filter: search.filter,
                    params: MilvusRequest.searchParams(annsField: target.field.name, topK: limit, params: search.params, offset: 0)))
            }
            let (fields, dynamic, keepMeta) = try SchemaMapping.outputFields(request.outputFields, schema: schema)
            let milvus = self.milvus
            let reply = try await explainingNotLoaded(request.collection, deadline: deadline) { () throws(VectorDBError) in
                try await milvus.hybridSearch(request.collection, searches: searches, rankParams: rankParams,
                                              outputFields: request.outputFields.isEmpty ? [] : fields,
                                              partitions: request.partitions, consistencyLevel: request.consistency?.rawValue,
                                              deadline: deadline)
            }
            return Self.unpackingDynamicFields(try Self.results(reply, queries: queries), names: dynamic, keepMeta: keepMeta)
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
