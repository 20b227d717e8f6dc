import MilvusClient
import VDBMDomain
import VDBMProtobuf

/// What writes must share to leave as one Milvus write: the same place, the same kind, and
/// columns that line up (same names, types, dimensions and null masks, in the same order), so
/// that the merged request is each member's request with more rows.
struct WriteBatchKey: Hashable, Sendable {
    struct Column: Hashable, Sendable {
        var name: String
        var dataType: Int32
        var isDynamic: Bool
        var hasValidity: Bool
        /// A float-vector column's dimension (0 for other columns).
        var dimension: Int
    }

    var database: String?
    var collection: String
    var partition: String
    var upsert: Bool
    var columns: [Column]

    init(database: String?, collection: String, partition: String, upsert: Bool, columns: [MilvusFieldData]) {
        self.database = database
        self.collection = collection
        self.partition = partition
        self.upsert = upsert
        self.columns = columns.map { column in
            var dimension = 0
            if case .floatVectors(let dim, _) = column.values { dimension = dim }
            return Column(name: column.name, dataType: column.dataType, isDynamic: column.isDynamic,
                          hasValidity: !column.validity.isEmpty, dimension: dimension)
        }
    }
}

/// One caller's validated rows, as they join a batch.
public struct WriteRows: Sendable {
    public var columns: [MilvusFieldData]
    public var count: Int

    public init(columns: [MilvusFieldData], count: Int) {
        self.columns = columns
        self.count = count
    }
}

public enum WriteMerging {
    /// The members' columns, row after row in member order (their keys are equal, so their
    /// columns line up one to one).
    public static func merged(_ members: [WriteRows]) -> [MilvusFieldData] {
        guard var columns = members.first?.columns, members.count > 1 else { return members.first?.columns ?? [] }
        for index in columns.indices {
            let parts = members.map { index < $0.columns.count ? $0.columns[index] : columns[index] }
            columns[index].values = FieldValues.concatenated(parts.map(\.values))
            columns[index].validity = parts.allSatisfy { $0.validity.isEmpty } ? [] : parts.flatMap(\.validity)
        }
        return columns
    }

    /// The bytes a write's rows take on the wire, roughly (the batch cap is about Milvus's
    /// request size, far above any rounding here).
    public static func bytes(_ columns: [MilvusFieldData]) -> Int {
        columns.reduce(0) { total, column in total + column.values.payloadBytes + column.validity.count }
    }

    /// Hashes of the primary keys an upsert writes: members with a key in common never share a
    /// batch (a collision only keeps two members apart that could have shared one).
    static func conflictKeys(_ columns: [MilvusFieldData], primaryKey: String?) -> Set<Int>? {
        guard let primaryKey, let column = columns.first(where: { $0.name == primaryKey }) else { return nil }
        switch column.values {
        case .int64s(let keys): return Set(keys.map(\.hashValue))
        case .strings(let keys): return Set(keys.map(\.hashValue))
        default: return nil
        }
    }

    /// Whether Milvus answered the write with a refusal that may be about one member's rows (it
    /// then wrote nothing): each member may be sent again alone, for its own answer. A rate limit
    /// or vdbm's own full queue also wrote nothing, but is about the load, not a row: every member
    /// gets it, unsent again (sending each alone would only add load). Anything else (no answer,
    /// a deadline, an answer that does not add up) leaves the outcome unknown, and a write is never
    /// sent twice on a guess.
    public static func isRefusal(_ error: VectorDBError) -> Bool {
        switch error {
        case .notFound, .alreadyExists, .invalidArgument, .failedPrecondition, .notLoaded, .permissionDenied,
             .unauthenticated, .milvus:
            true
        case .rateLimited, .resourceExhausted, .unavailable, .deadlineExceeded, .cancelled, .relayed, .internal:
            false
        }
    }

    /// Each member's share of a merged answer for `total` rows: its own run of ids and its count.
    static func split(_ merged: MutationResult, rows: [Int]) -> [MutationResult] {
        var start = 0
        return rows.map { count in
            defer { start += count }
            return MutationResult(ids: merged.ids.rows(start..<(start + count)), count: Int64(count))
        }
    }
}

extension FieldValues {
    /// The parts' rows, one after the other, built once (appending part by part would copy the
    /// growing column each time). The parts are of one kind (and dimension) when their batch keys
    /// are equal; a part of another kind adds nothing.
    static func concatenated(_ parts: [FieldValues]) -> FieldValues {
        func joined<Element>(_ pick: (FieldValues) -> [Element]?) -> [Element] {
            var all: [Element] = []
            all.reserveCapacity(parts.reduce(0) { $0 + (pick($1)?.count ?? 0) })
            for part in parts { if let values = pick(part) { all += values } }
            return all
        }
        switch parts.first {
        case .bools: return .bools(joined { if case .bools(let v) = $0 { v } else { nil } })
        case .int32s: return .int32s(joined { if case .int32s(let v) = $0 { v } else { nil } })
        case .int64s: return .int64s(joined { if case .int64s(let v) = $0 { v } else { nil } })
        case .floats: return .floats(joined { if case .floats(let v) = $0 { v } else { nil } })
        case .doubles: return .doubles(joined { if case .doubles(let v) = $0 { v } else { nil } })
        case .strings: return .strings(joined { if case .strings(let v) = $0 { v } else { nil } })
        case .json: return .json(joined { if case .json(let v) = $0 { v } else { nil } })
        case .floatVectors(let dimension, _):
            return .floatVectors(dimension: dimension, values: joined { if case .floatVectors(_, let v) = $0 { v } else { nil } })
        case .sparseVectors: return .sparseVectors(joined { if case .sparseVectors(let v) = $0 { v } else { nil } })
        case nil: return .int64s([])
        }
    }

    /// Bytes of the values, about as they go on the wire.
    public var payloadBytes: Int {
        switch self {
        case .bools(let values): values.count
        case .int32s(let values): values.count * 4
        case .int64s(let values): values.count * 8
        case .floats(let values): values.count * 4
        case .doubles(let values): values.count * 8
        case .strings(let values), .json(let values): values.reduce(0) { $0 + $1.utf8.count + 2 }
        case .floatVectors(_, let values): values.count * 4
        case .sparseVectors(let values): values.reduce(0) { $0 + $1.indices.count * 8 }
        }
    }
}
