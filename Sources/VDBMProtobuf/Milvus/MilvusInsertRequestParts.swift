import CProtobufC
import CVDBMProtos

/// A Milvus `InsertRequest` as an SDK sent it (the pass-through), read just enough to merge it
/// with others: its columns as values, and a key made of everything else. Requests with equal keys
/// differ only in their rows, so one Milvus insert of all their rows, member after member, is each
/// of them with more rows.
public struct MilvusInsertRequestParts: Sendable {
    /// The request packed without its columns and `num_rows`, followed by each column's name, type,
    /// dynamic flag and vector dimension. Unknown fields (a newer SDK's) are part of it.
    public let key: [UInt8]
    /// The columns, as vdbm reads them back exactly (see ``init(request:)``).
    public let columns: [MilvusFieldData]
    public let rows: Int
    private let request: [UInt8]

    /// `nil` when the request cannot be merged: not an `InsertRequest`, `hash_keys` set, no rows, a
    /// `num_rows` its columns do not have (or a vector column with a partial vector), or a column vdbm does not read back byte for byte (a
    /// kind it does not know, null masks, field ids, text that is not UTF-8, unknown fields).
    /// Such an insert goes on alone, untouched.
    public init?(request bytes: [UInt8]) {
        let parts: MilvusInsertRequestParts?? = try? ProtobufC.decode(
            bytes, messageType: "milvus.proto.milvus.InsertRequest", unpack: milvus__proto__milvus__insert_request__unpack
        ) { (request: UnsafePointer<Milvus__Proto__Milvus__InsertRequest>) throws(ProtobufDecodingError) -> MilvusInsertRequestParts? in
            var stripped = request.pointee
            guard stripped.n_hash_keys == 0, stripped.num_rows > 0 else { return nil }
            var columns: [MilvusFieldData] = []
            for field in ProtobufC.array(stripped.n_fields_data, stripped.fields_data) {
                guard let field, let column = Self.exactColumn(UnsafePointer(field)),
                      column.rowCount == Int(stripped.num_rows) else { return nil }
                // Whole vectors only: a stray float would shift every later member's rows.
                if case .floatVectors(let dimension, let values) = column.values {
                    let (floats, overflow) = dimension.multipliedReportingOverflow(by: Int(stripped.num_rows))
                    guard !overflow, values.count == floats else { return nil }
                }
                columns.append(column)
            }
            guard !columns.isEmpty else { return nil }
            let rows = Int(stripped.num_rows)
            stripped.n_fields_data = 0
            stripped.fields_data = nil
            stripped.num_rows = 0
            var key = ProtobufC.encode(&stripped)
            for column in columns {
                key += Array(column.name.utf8) + [0]
                withUnsafeBytes(of: column.dataType.littleEndian) { key += $0 }
                key.append(column.isDynamic ? 1 : 0)
                if case .floatVectors(let dimension, _) = column.values {
                    withUnsafeBytes(of: UInt64(dimension).littleEndian) { key += $0 }
                }
            }
            return MilvusInsertRequestParts(key: key, columns: columns, rows: rows, request: bytes)
        }
        guard let parts = parts ?? nil else { return nil }
        self = parts
    }

    private init(key: [UInt8], columns: [MilvusFieldData], rows: Int, request: [UInt8]) {
        self.key = key
        self.columns = columns
        self.rows = rows
        self.request = request
    }

    /// The column as vdbm reads it, when building it again gives back the very bytes the SDK sent
    /// (anything vdbm does not model would be lost in a merge).
    private static func exactColumn(_ field: UnsafePointer<Milvus__Proto__Schema__FieldData>) -> MilvusFieldData? {
        let column = MilvusFieldData.read(field)
        guard column.isReadable else { return nil }
        let arena = ProtobufCArena()
        let original = ProtobufC.encode(pointer: UnsafeMutablePointer(mutating: field))
        return ProtobufC.encode(pointer: column.build(in: arena)) == original ? column : nil
    }

    /// One request with `columns` (every member's rows, in order) built on `self` (any member:
    /// their keys are equal).
    public func merged(columns: [MilvusFieldData], rows: Int) -> [UInt8]? {
        try? ProtobufC.decode(request, messageType: "milvus.proto.milvus.InsertRequest",
                              unpack: milvus__proto__milvus__insert_request__unpack) { request throws(ProtobufDecodingError) in
            let arena = ProtobufCArena()
            var merged = request.pointee
            let built = columns.map { $0.build(in: arena) }
            merged.n_fields_data = built.count
            merged.fields_data = arena.pointers(built)
            merged.num_rows = UInt32(clamping: rows)
            return ProtobufC.encode(&merged)
        }
    }
}

/// Milvus's `MutationResult` for a merged insert, cut into each member's own: its run of the ids
/// Milvus assigned or echoed, its count, the same timestamp (pymilvus keeps it for session
/// consistency) and status.
public enum MilvusMergedMutation {
    /// What the merged answer says.
    public enum Reading: Sendable, Equatable {
        /// One answer per member, in member order.
        case cut([[UInt8]])
        /// Milvus refused the insert (its status is not success): it wrote nothing.
        case refused
        /// Success, but the answer does not add up to the rows sent (or is not a `MutationResult`):
        /// what was written is not known.
        case unknown(String)
    }

    /// Reads Milvus's answer to an insert of `rows` rows per member.
    public static func read(_ answer: [UInt8], rows: [Int]) -> Reading {
        let total = rows.reduce(0, +)
        let reading: Reading? = try? ProtobufC.decode(
            answer, messageType: "milvus.proto.milvus.MutationResult", unpack: milvus__proto__milvus__mutation_result__unpack
        ) { (result: UnsafePointer<Milvus__Proto__Milvus__MutationResult>) throws(ProtobufDecodingError) -> Reading in
            let mutation = result.pointee
            if let status = mutation.status, status.pointee.code != 0 || status.pointee.error_code != 0 { return .refused }
            guard mutation.n_err_index == 0, mutation.insert_cnt == Int64(total),
                  mutation.n_succ_index == 0 || mutation.n_succ_index == total,
                  mutation.ids != nil, case let all = MilvusIDs.read(mutation.ids.map { UnsafePointer($0) }),
                  all.count == total else {
                return .unknown("Milvus's answer to a merged insert of \(total) rows does not add up")
            }
            var start = 0
            return .cut(rows.map { count in
                defer { start += count }
                return ProtobufC.pack { arena in
                    arena.message(milvus__proto__milvus__mutation_result__init) { member in
                        member.status = mutation.status
                        member.ids = all.rows(start..<(start + count)).build(in: arena)
                        if mutation.n_succ_index > 0 {
                            member.n_succ_index = count
                            member.succ_index = arena.array((0..<count).map { UInt32($0) })
                        }
                        member.insert_cnt = Int64(count)
                        member.acknowledged = mutation.acknowledged
                        member.timestamp = mutation.timestamp
                    }
                }
            })
        }
        return reading ?? .unknown("Milvus's answer to a merged insert is not a MutationResult")
    }
}

extension MilvusIDs {
    /// The ids of `rows` only.
    func rows(_ rows: Range<Int>) -> MilvusIDs {
        switch self {
        case .int64s(let values): .int64s(Array(values[rows]))
        case .strings(let values): .strings(Array(values[rows]))
        }
    }
}
