#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MilvusClient
import VDBMDomain

/// How an export walks a collection in primary-key order without offsets (Milvus caps
/// offset + limit at 16,384): each page asks for the keys after the last one sent, as pymilvus's
/// query iterator does, and is put in key order before it leaves.
enum ExportPaging {
    /// A Milvus hybrid timestamp for now: wall-clock milliseconds above 18 logical bits, as
    /// Milvus's TSO makes them (this host's clock standing in for Milvus's, as pymilvus does
    /// when Milvus 2.3 does not say its own).
    static func hybridTimestampNow() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return (UInt64(spec.tv_sec) * 1000 + UInt64(spec.tv_nsec) / 1_000_000) << 18
    }

    /// The filter of the page after `cursor`: the caller's filter (if any) and the key bound.
    static func filter(_ userFilter: String, key: String, after cursor: ExportCursor.Key?) -> String {
        var parts: [String] = []
        if !userFilter.allSatisfy(\.isWhitespace) { parts.append("(\(userFilter))") }
        switch cursor {
        case .int64(let last): parts.append("\(key) > \(last)")
        case .string(let last): parts.append("\(key) > \(SchemaMapping.quoted(last))")
        case nil: break
        }
        return parts.joined(separator: " and ")
    }

    /// The page's rows sorted by their key (strings compared byte by byte, as Milvus does), and
    /// the cursor after them; `nil` for an empty page. A page without its key column is a defect.
    static func ordered(_ page: QueryResult, key: String) throws(VectorDBError) -> (rows: QueryResult, next: ExportCursor.Key?) {
        guard page.rowCount > 0 else { return (page, nil) }
        let order: [Int]
        let cursor: ExportCursor.Key
        switch page.columns[key] {
        case .int64s(let keys):
            order = keys.indices.sorted { keys[$0] < keys[$1] }
            cursor = .int64(keys[order.last!])
        case .strings(let keys):
            let bytes = keys.map { Array($0.utf8) }
            order = keys.indices.sorted { bytes[$0].lexicographicallyPrecedes(bytes[$1]) }
            cursor = .string(keys[order.last!])
        default:
            throw .internal("Milvus returned a page without its primary key '\(key)'")
        }
        if order.elementsEqual(order.indices) { return (page, cursor) }
        return (QueryResult(columns: page.columns.mapValues { $0.rows(at: order) }), cursor)
    }
}
