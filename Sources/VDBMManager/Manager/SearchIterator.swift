import MilvusClient
import VDBMProtobuf
import VDBMDomain
import VDBMUtils

extension VectorDBManager {
    /// One page of a search iterator: the next `request.limit` hits of its one float-vector query
    /// after `cursor` (the first page when `nil`), in distance order, and the cursor for the page
    /// after them (`nil` after the last). See `SearchIteration` for how the pages are cut.
    nonisolated public func searchIteratorPage(_ request: SearchRequest, after cursor: SearchIteratorCursor?,
                                               deadline: Deadline) async throws(VectorDBError)
        -> (hits: SearchResults, next: SearchIteratorCursor?) {
        guard case .floatVectors = request.queries else { throw .invalidArgument("a search iterator takes one float vector") }
        guard request.offset == 0, request.grouping == nil else {
            throw .invalidArgument("a search iterator takes no offset and no grouping")
        }
        guard request.params["radius"] == nil, request.params["range_filter"] == nil else {
            throw .invalidArgument("a search iterator sets radius and range_filter itself")
        }
        let schema = try await schema(of: request.collection, deadline: deadline)
        let target = try SearchTarget(request.queries, field: request.vectorField, in: schema)
        guard target.count == 1 else { throw .invalidArgument("a search iterator takes one float vector; got \(target.count)") }
        guard let key = schema.primaryKey?.name else {
            throw .internal(MalformedMilvusAnswer("describe collection", "no primary key field").description)
        }
        var pinned = request
        pinned.vectorField = target.field.name
        guard let cursor else {
            let largerIsBetter = try await largerIsBetter(request.collection, field: target.field.name, deadline: deadline)
            let page = try await only(search(pinned, deadline: deadline))
            return (page, try SearchIteration.next(after: page, requested: request.limit, previous: nil,
                                                   largerIsBetter: largerIsBetter, unbounded: true))
        }
        pinned.filter = SearchIteration.filter(request.filter, key: key, after: cursor)
        pinned.limit = SearchIteration.ringLimit(pageSize: request.limit, params: request.params)
        var attempt = 0
        while true {
            let (radius, unbounded) = SearchIteration.radius(after: cursor, attempt: attempt)
            pinned.params = SearchIteration.params(request.params, after: cursor, radius: radius)
            let page = try await only(search(pinned, deadline: deadline)).prefix(request.limit)
            if page.count >= request.limit || unbounded {
                return (page, try SearchIteration.next(after: page, requested: request.limit, previous: cursor,
                                                       largerIsBetter: cursor.largerIsBetter, unbounded: unbounded))
            }
            attempt += 1
        }
    }

    /// Whether larger distances are better on `field`, from its index's metric (a search needs an
    /// index, so there is one to ask).
    private nonisolated func largerIsBetter(_ collection: String, field: String, deadline: Deadline) async throws(VectorDBError) -> Bool {
        let index = try await indexes(of: collection, deadline: deadline).first { $0.field == field }
        guard let metric = index?.params["metric_type"] else {
            throw .failedPrecondition("field '\(field)' of collection '\(collection)' has no index with a metric: create one first")
        }
        guard let largerIsBetter = SearchIteration.largerIsBetter(metric: metric) else {
            throw .failedPrecondition("a search iterator does not know which way metric \(metric) orders hits")
        }
        return largerIsBetter
    }

    private nonisolated func only(_ results: [SearchResults]) throws(VectorDBError) -> SearchResults {
        guard results.count == 1, let first = results.first else {
            throw .internal(MalformedMilvusAnswer("search", "\(results.count) result sets for one query").description)
        }
        return first
    }
}

