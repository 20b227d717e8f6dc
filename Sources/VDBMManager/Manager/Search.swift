import MilvusClient
import VDBMDomain
import VDBMProtobuf
import VDBMUtils

/// Searches (float vectors, sparse vectors, texts; grouping) and how Milvus's answer becomes one
/// `SearchResults` per query.
extension VectorDBManager {
    /// Searches with one or more queries (float vectors, sparse vectors or texts); the hits of
    /// each, best first. With coalescing on, concurrent float-vector searches that differ only in
    /// their vectors leave as one Milvus search.
    nonisolated public func search(_ request: SearchRequest, deadline: Deadline) async throws(VectorDBError) -> [SearchResults] {
        if let problem = ResultWindow.problem("limit", count: request.limit, offset: request.offset) { throw .invalidArgument(problem) }
        return try await withSchema(request.collection, deadline: deadline) { schema throws(VectorDBError) in
            let target = try SearchTarget(request.queries, field: request.vectorField, in: schema)
            if let feature = target.feature { try await require(feature, deadline: deadline) }
            let (_, dynamic, keepMeta) = try SchemaMapping.outputFields(request.outputFields, schema: schema)
            if let grouping = request.grouping {
                guard let field = schema.field(grouping.field), !field.type.isVector else {
                    throw .invalidArgument("collection '\(request.collection)' has no scalar field '\(grouping.field)' to group by")
                }
                try await require(.groupingSearch, deadline: deadline)
            }
            let milvus = self.milvus
            // A grouping search also asks for its group field: a Milvus that does not send each
            // hit's group value (Milvus Lite 2.5) still sends the column.
            let groupColumn = request.grouping.map(\.field).flatMap { request.outputFields.contains($0) ? nil : $0 }
            let outputFields = request.outputFields + (groupColumn.map { [$0] } ?? [])
            // One Milvus search for `queries` under this request's parameters (a batch's vectors,
            // or this request's own queries).
            let search: @Sendable (SearchQueries, Int, Deadline) async throws(VectorDBError) -> [SearchResults] = {
                queries, count, deadline throws(VectorDBError) in
                var params = MilvusRequest.searchParams(annsField: target.field.name, topK: request.limit,
                                                        params: request.params, offset: request.offset)
                if let grouping = request.grouping { params += MilvusRequest.groupingParams(grouping) }
                let reply = try await self.explainingNotLoaded(request.collection, deadline: deadline) { () throws(VectorDBError) in
                    try await milvus.search(request.collection, queries: queries, dim: target.dimension, filter: request.filter,
                                            outputFields: outputFields, partitions: request.partitions,
                                            params: params, consistencyLevel: request.consistency?.rawValue,
                                            deadline: deadline)
                }
                let results = try Self.results(reply, queries: count)
                guard let grouping = request.grouping else { return results }
                return Self.groupValues(results, field: grouping.field, dropColumn: groupColumn != nil)
            }
            let results: [SearchResults]
            if let coalescer, case .floatVectors(let vectors, _) = target.queries {
                let database = MilvusCallContext.database
                let key = SearchBatchKey(request, database: database, vectorField: target.field.name,
                                         dimension: target.dimension, schema: schema)
                let dimension = target.dimension
                results = try await coalescer.search(key: key, vectors: vectors, queries: target.count, deadline: deadline) {
                    vectors, count, deadline throws(VectorDBError) in
                    // The batch may run on another caller's task: every member of a batch has this
                    // database (it is part of the key).
                    try await Self.inDatabase(database) { () throws(VectorDBError) in
                        try await search(.floatVectors(vectors, dimension: dimension), count, deadline)
                    }
                }
            } else {
                results = try await search(target.queries, target.count, deadline)
            }
            return Self.unpackingDynamicFields(results, names: dynamic, keepMeta: keepMeta)
        }
    }

    /// Dynamic fields asked for by name, unpacked from `$meta` into columns of their own.
    static func unpackingDynamicFields(_ results: [SearchResults], names: [String], keepMeta: Bool) -> [SearchResults] {
        guard !names.isEmpty || !keepMeta else { return results }
        return results.map { result in
            var result = result
            result.fields = DynamicFields.unpack(result.fields, names: names, keepMeta: keepMeta)
            return result
        }
    }

    /// Each hit's group value from the group field's column when Milvus sent none of its own; the
    /// column itself left out when only vdbm asked for it.
    static func groupValues(_ results: [SearchResults], field: String, dropColumn: Bool) -> [SearchResults] {
        results.map { result in
            var result = result
            if result.groupValues == nil { result.groupValues = result.fields[field] }
            if dropColumn { result.fields[field] = nil }
            return result
        }
    }

    /// Searches waiting or in flight in the coalescer, and the query vectors queued (`nil` when
    /// coalescing is off).
    nonisolated var searchCoalescing: (members: Int, batches: Int, queuedVectors: Int)? { coalescer?.snapshot }

    /// Milvus answers all query vectors in one set of columns, `topks[i]` rows for query `i`:
    /// cut them into one `SearchResults` per query vector. An answer whose counts do not add up is
    /// an internal error, never hits read from it.
    package static func results(_ reply: MilvusResponse.Search, queries: Int) throws(VectorDBError) -> [SearchResults] {
        let ranges: [Range<Int>]
        do {
            ranges = try reply.hitRanges(queries: queries)
        } catch {
            throw .internal(error.description)
        }
        let ids = SchemaMapping.keys(reply.ids)
        let columns = reply.fields.filter(\.isReadable)
        let groups = reply.groupValues.flatMap { $0.isReadable ? $0.values : nil }
        return ranges.map { range in
            var fields: [String: FieldValues] = [:]
            for column in columns { fields[column.name] = column.values.rows(range) }
            return SearchResults(ids: ids.rows(range), distances: Array(reply.scores[range]), fields: fields,
                                 groupValues: groups?.rows(range))
        }
    }
}
