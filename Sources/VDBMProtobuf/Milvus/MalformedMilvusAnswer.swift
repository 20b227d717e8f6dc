/// A Milvus answer that went well by its status but whose numbers do not add up: counts that
/// disagree with each other or with the request that was sent. Every count in an answer comes
/// from the wire (Milvus, or anything that answers on its port), so vdbm checks them before it
/// uses one to cut or index, and reports such an answer instead of reading hits from it.
public struct MalformedMilvusAnswer: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of answer: `search`, `query`, `insert`, ...
    public let answer: String
    /// What disagrees, with the numbers.
    public let problem: String

    public init(_ answer: String, _ problem: String) {
        self.answer = answer
        self.problem = problem
    }

    public var description: String { "Milvus sent a malformed \(answer) answer: \(problem)" }
}

/// How a search answer lays out its hits: query vector `i` has `topks[i]` hits, and the ids,
/// scores and output columns hold them query after query.
enum MilvusSearchLayout {
    /// Where each query vector's hits start in the flat arrays, with one more entry at the end (the
    /// number of hits). Checked: `num_queries` and the number of `topks` are the number of query
    /// vectors sent, no `topk` is negative, and their sum fits.
    static func rowStarts(numQueries: Int64, topks: [Int64], queries: Int) throws(MalformedMilvusAnswer) -> [Int] {
        func malformed(_ problem: String) -> MalformedMilvusAnswer { MalformedMilvusAnswer("search", problem) }
        guard numQueries == Int64(queries) else {
            throw malformed("num_queries is \(numQueries) for \(queries) query vectors sent")
        }
        guard topks.count == queries else { throw malformed("\(topks.count) topks for \(queries) query vectors sent") }
        var starts = [0]
        starts.reserveCapacity(queries + 1)
        var total: Int64 = 0
        for (query, topk) in topks.enumerated() {
            guard topk >= 0 else { throw malformed("topks[\(query)] is negative (\(topk))") }
            let (sum, overflow) = total.addingReportingOverflow(topk)
            guard !overflow else { throw malformed("topks add up past \(Int64.max) at query \(query)") }
            total = sum
            starts.append(Int(total))
        }
        return starts
    }
}

extension MilvusResponse.Search {
    /// The hits of each of the `queries` query vectors sent, as ranges of rows of `ids`, `scores`
    /// and every readable column of `fields`. Throws when the answer does not add up: see
    /// `MilvusSearchLayout.rowStarts`, and the ids, scores and columns must hold exactly the hits
    /// the `topks` count.
    public func hitRanges(queries: Int) throws(MalformedMilvusAnswer) -> [Range<Int>] {
        let starts = try MilvusSearchLayout.rowStarts(numQueries: numQueries, topks: topks, queries: queries)
        let hits = starts[queries]
        guard ids.count == hits else { throw MalformedMilvusAnswer("search", "\(ids.count) ids for \(hits) hits") }
        guard scores.count == hits else { throw MalformedMilvusAnswer("search", "\(scores.count) scores for \(hits) hits") }
        try MilvusFieldData.checkRows(fields + (groupValues.map { [$0] } ?? []), rows: hits, answer: "search")
        return (0..<queries).map { starts[$0]..<starts[$0 + 1] }
    }
}

extension MilvusFieldData {
    /// Checks that every readable column holds whole rows, and `rows` of them (or, when `rows`
    /// is nil, as many as each other); returns that number (0 for no readable column).
    @discardableResult
    public static func checkRows(_ fields: [MilvusFieldData], rows: Int? = nil, answer: String) throws(MalformedMilvusAnswer) -> Int {
        var expected = rows
        var first = ""
        for field in fields where field.isReadable {
            if case .floatVectors(let dimension, let values) = field.values, dimension <= 0 || values.count % dimension != 0 {
                throw MalformedMilvusAnswer(answer, "column '\(field.name)' has \(values.count) floats of dimension \(dimension)")
            }
            guard let count = expected else {
                expected = field.rowCount
                first = field.name
                continue
            }
            guard field.rowCount == count else {
                let against = rows == nil ? "column '\(first)' has \(count)" : "the answer has \(count) hits"
                throw MalformedMilvusAnswer(answer, "column '\(field.name)' has \(field.rowCount) rows; \(against)")
            }
        }
        return expected ?? 0
    }
}
