import CProtobufC
import CVDBMProtos

/// Why the answer to a merged pass-through search was not cut, so that each member searched
/// alone (the `reason` label of `vdbm_passthrough_search_fallbacks_total`).
public enum MergedSearchFallback: String, Error, Sendable, CaseIterable {
    /// Milvus answered the merged search with an error status (each member then gets its own).
    case milvusError = "milvus_error"
    /// The bytes are not a `SearchResults`.
    case undecodable
    /// A field this vdbm does not know (a newer Milvus's): it cannot tell whether it is per hit,
    /// per query or per request, so it does not guess.
    case unknownField = "unknown_field"
    /// Counts that do not add up (a hostile or broken answer).
    case malformed
    /// A search iterator's page: its token and bound belong to one request.
    case iterator
    /// Aggregation buckets (Milvus 3.0), which vdbm carries but does not read.
    case aggregation
}

/// The answer to a merged search (`SearchResults`), unpacked once and cut into each member's
/// share: its query vectors' hits with everything Milvus says per hit or per query, and what it
/// says per request, as a `SearchResults` of its own. Made only from an answer that went well and
/// whose every part vdbm knows how to cut (`SearchResultDataCut` lists them); anything else names
/// its `MergedSearchFallback`, and each member's search is then sent on its own, so that every
/// caller gets exactly what it would alone.
public final class MilvusMergedSearchResults: @unchecked Sendable {
    // Sendable: the unpacked message is only read after init (packing reads it), and freed in deinit.
    private let message: UnsafeMutablePointer<Milvus__Proto__Milvus__SearchResults>
    /// Where each query vector's hits start in the flat arrays; one more entry at the end.
    private let rowStarts: [Int]

    private init(message: UnsafeMutablePointer<Milvus__Proto__Milvus__SearchResults>, rowStarts: [Int]) {
        self.message = message
        self.rowStarts = rowStarts
    }

    deinit { Self.free(message) }

    private static func free(_ message: UnsafeMutablePointer<Milvus__Proto__Milvus__SearchResults>) {
        message.withMemoryRebound(to: ProtobufCMessage.self, capacity: 1) { protobuf_c_message_free_unpacked($0, nil) }
    }

    /// Milvus's answer to a merged search of `queries` query vectors, ready to be cut; or why not.
    public static func read(_ bytes: [UInt8], queries: Int) -> Result<MilvusMergedSearchResults, MergedSearchFallback> {
        let unpacked: UnsafeMutablePointer<Milvus__Proto__Milvus__SearchResults>? = bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return nil }
            return milvus__proto__milvus__search_results__unpack(nil, buffer.count, base)
        }
        guard let unpacked else { return .failure(.undecodable) }
        // Every count here is Milvus's (or whoever answers on its port): checked before it is
        // added up or used to cut, so a hostile answer falls back instead of trapping.
        let starts: [Int]
        do throws(MergedSearchFallback) {
            guard MilvusStatus.read(unpacked.pointee.status).isSuccess else { throw MergedSearchFallback.milvusError }
            guard ProtobufC.understood(unpacked) else { throw MergedSearchFallback.unknownField }
            guard let results = unpacked.pointee.results,
                  let layout = try? MilvusSearchLayout.rowStarts(
                      numQueries: results.pointee.num_queries,
                      topks: ProtobufC.array(results.pointee.n_topks, results.pointee.topks), queries: queries)
            else { throw MergedSearchFallback.malformed }
            starts = layout
            _ = try SearchResultDataCut.cut(results, rows: 0..<starts[queries], total: starts[queries], queries: 0..<queries,
                                            totalQueries: queries, in: ProtobufCArena())
        } catch {
            free(unpacked)
            return .failure(error)
        }
        return .success(MilvusMergedSearchResults(message: unpacked, rowStarts: starts))
    }

    /// The `SearchResults` of query vectors `queries` alone.
    public func answer(queries: Range<Int>) -> [UInt8]? {
        guard queries.lowerBound >= 0, queries.upperBound < rowStarts.count, let results = message.pointee.results else { return nil }
        let rows = rowStarts[queries.lowerBound]..<rowStarts[queries.upperBound]
        let arena = ProtobufCArena()
        guard let cut = try? SearchResultDataCut.cut(results, rows: rows, total: rowStarts[rowStarts.count - 1], queries: queries,
                                                      totalQueries: rowStarts.count - 1, in: arena) else { return nil }
        var answer = message.pointee
        answer.results = rows.isEmpty ? SearchResultDataCut.withoutHits(cut, in: arena) : cut
        return ProtobufC.encode(&answer)
    }
}
