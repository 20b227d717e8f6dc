import MilvusClient
import VDBMProtobuf
import VDBMDomain

/// How a search iterator walks every hit of one query in distance order, past the 16,384 hits a
/// search may reach with `offset` (pymilvus's first iterator does the same): the first page is a
/// plain search; each next one is a range search from the last distance sent (`range_filter`,
/// which keeps that distance) out to a `radius` one width further, with the hits already sent at
/// that distance left out by key. A ring holding fewer hits than the page is widened, doubling,
/// until it holds a page or has no outer bound; a short page from a ring without bound is the
/// last. The hits of a ring are the next ones in order, so no hit is sent twice or skipped
/// (as far as the index finds them: an approximate index may miss some, as in any search).
enum SearchIteration {
    /// Doublings of a ring before the next probe drops the outer bound.
    static let widenings = 10
    /// The width of the first ring when a page's hits all share one distance.
    static let defaultWidth: Float = 0.05
    /// The outer bound of the last probe: beyond any distance Milvus reports (it takes finite numbers only).
    static let unboundedRadius: Float = 3.0e38
    /// Hits sent at one distance that the next page can leave out by key (pymilvus's limit too).
    static let maxTiedKeys = 16_384
    /// A ring is searched for this many times the page's hits (pymilvus's extension rate): with
    /// rings asked for one page, Milvus Lite 3.2.2 and 2.5.1 missed hits a ring held.
    static let ringExtension = 10

    /// The `limit` of a ring's search for a page of `pageSize`: extended, but not past Milvus's
    /// 16,384 nor past an HNSW `ef` the caller set (Milvus refuses a limit above it).
    static func ringLimit(pageSize: Int, params: [String: ParamValue]) -> Int {
        var limit = min(ResultWindow.maxHits, pageSize * ringExtension)
        if case .int(let ef) = params["ef"] { limit = min(limit, max(ef, pageSize)) }
        return limit
    }

    /// Whether larger distances are better hits for `metric` (Milvus's name); `nil` for one
    /// vdbm does not know.
    static func largerIsBetter(metric: String) -> Bool? {
        switch metric.uppercased() {
        case "L2", "HAMMING", "JACCARD", "TANIMOTO": false
        case "IP", "COSINE", "BM25": true
        default: nil
        }
    }

    /// The `radius` of probe number `attempt` (0 first) after `cursor`, and whether it is the
    /// probe without an outer bound.
    static func radius(after cursor: SearchIteratorCursor, attempt: Int) -> (radius: Float, unbounded: Bool) {
        let unbounded = cursor.largerIsBetter ? -unboundedRadius : unboundedRadius
        guard attempt < widenings else { return (unbounded, true) }
        let reach = cursor.width * Float(1 << attempt)
        let radius = cursor.largerIsBetter ? cursor.tail - reach : cursor.tail + reach
        guard radius.isFinite, abs(radius) < unboundedRadius else { return (unbounded, true) }
        return (radius, false)
    }

    /// The search parameters of a probe: the caller's, with the ring's bounds.
    static func params(_ base: [String: ParamValue], after cursor: SearchIteratorCursor, radius: Float) -> [String: ParamValue] {
        var params = base
        params["radius"] = .double(Double(radius))
        params["range_filter"] = .double(Double(cursor.tail))
        return params
    }

    /// The caller's filter (if any) and the keys already sent at the tail distance left out.
    static func filter(_ userFilter: String, key: String, after cursor: SearchIteratorCursor) -> String {
        var parts: [String] = []
        if !userFilter.allSatisfy(\.isWhitespace) { parts.append("(\(userFilter))") }
        if !cursor.tiedKeys.isEmpty {
            let keys = cursor.tiedKeys.map { key -> String in
                switch key {
                case .int64(let value): "\(value)"
                case .string(let value): SchemaMapping.quoted(value)
                }
            }
            parts.append("\(key) not in [\(keys.joined(separator: ", "))]")
        }
        return parts.joined(separator: " and ")
    }

    /// The cursor after `page` (hits in distance order, `requested` asked for); `nil` when it was
    /// the last: empty, or short of `requested` from a search without an outer bound (the first
    /// page, or an unbounded ring). Distances that run the wrong way are a malformed answer.
    static func next(after page: SearchResults, requested: Int, previous: SearchIteratorCursor?, largerIsBetter: Bool,
                     unbounded: Bool) throws(VectorDBError) -> SearchIteratorCursor? {
        guard let first = page.distances.first, let tail = page.distances.last else { return nil }
        for (a, b) in zip(page.distances, page.distances.dropFirst()) where largerIsBetter ? b > a : b < a {
            throw .internal(MalformedMilvusAnswer("search", "hits are not in distance order (\(a) before \(b))").description)
        }
        if let previous, largerIsBetter ? first > previous.tail : first < previous.tail {
            throw .internal(MalformedMilvusAnswer("search", "a hit at \(first) lies before the range's start \(previous.tail)").description)
        }
        if page.count < requested && (previous == nil || unbounded) { return nil }
        var tied = previous.flatMap { $0.tail == tail ? $0.tiedKeys : nil } ?? []
        for row in page.distances.indices where page.distances[row] == tail { tied.append(page.ids.key(at: row)) }
        guard tied.count <= maxTiedKeys else {
            throw .failedPrecondition("more than \(maxTiedKeys) hits share the distance \(tail): the iterator cannot page past them")
        }
        let span = abs(tail - first)
        let width = page.count >= requested && span > 0 ? span : (previous?.width ?? defaultWidth)
        return SearchIteratorCursor(largerIsBetter: largerIsBetter, tail: tail, tiedKeys: tied, width: width)
    }
}
