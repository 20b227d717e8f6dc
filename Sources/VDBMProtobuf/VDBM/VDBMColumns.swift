import CVDBMProtos
import VDBMDomain

/// `vdbm.v1.Column`, `PrimaryKeys` and `Param` to and from Swift values.
enum VDBMColumns {
    /// A column as the client sent it: `nil` values when its oneof is not set.
    static func read(_ column: UnsafePointer<Vdbm__V1__Column>) throws(ProtobufDecodingError) -> VDBMv1.Column {
        let c = column.pointee
        let values: FieldValues?
        switch c.values_case {
        case VDBM__V1__COLUMN__VALUES_BOOLS:
            values = .bools(ProtobufC.array(c.bools.pointee.n_values, c.bools.pointee.values).map { $0 != 0 })
        case VDBM__V1__COLUMN__VALUES_INT32S:
            values = .int32s(ProtobufC.array(c.int32s.pointee.n_values, c.int32s.pointee.values))
        case VDBM__V1__COLUMN__VALUES_INT64S:
            values = .int64s(ProtobufC.array(c.int64s.pointee.n_values, c.int64s.pointee.values))
        case VDBM__V1__COLUMN__VALUES_FLOATS:
            values = .floats(ProtobufC.array(c.floats.pointee.n_values, c.floats.pointee.values))
        case VDBM__V1__COLUMN__VALUES_DOUBLES:
            values = .doubles(ProtobufC.array(c.doubles.pointee.n_values, c.doubles.pointee.values))
        case VDBM__V1__COLUMN__VALUES_STRINGS:
            values = .strings(try ProtobufC.strings(c.strings.pointee.n_values, c.strings.pointee.values, field: "columns.strings"))
        case VDBM__V1__COLUMN__VALUES_JSON:
            values = .json(try ProtobufC.strings(c.json.pointee.n_values, c.json.pointee.values, field: "columns.json"))
        case VDBM__V1__COLUMN__VALUES_VECTORS:
            let vectors = readVectors(c.vectors)
            values = .floatVectors(dimension: vectors.dimension, values: vectors.values)
        case VDBM__V1__COLUMN__VALUES_SPARSE_VECTORS:
            values = .sparseVectors(readSparse(c.sparse_vectors))
        default:
            values = nil
        }
        return VDBMv1.Column(name: try ProtobufC.string(c.name, field: "columns.name"), values: values)
    }

    static func readVectors(_ vectors: UnsafeMutablePointer<Vdbm__V1__FloatVectors>?) -> VDBMv1.Vectors {
        guard let vectors else { return VDBMv1.Vectors(dimension: 0, values: []) }
        return VDBMv1.Vectors(dimension: Int(vectors.pointee.dimension),
                              values: ProtobufC.array(vectors.pointee.n_values, vectors.pointee.values))
    }

    /// Sparse rows as sent (checked and sorted by the manager).
    static func readSparse(_ vectors: UnsafeMutablePointer<Vdbm__V1__SparseVectors>?) -> [SparseVector] {
        guard let vectors else { return [] }
        return ProtobufC.messages(vectors.pointee.n_rows, vectors.pointee.rows) { row in
            SparseVector(indices: ProtobufC.array(row.pointee.n_indices, row.pointee.indices),
                         values: ProtobufC.array(row.pointee.n_values, row.pointee.values))
        }
    }

    static func readKeys(_ keys: UnsafeMutablePointer<Vdbm__V1__PrimaryKeys>?) throws(ProtobufDecodingError) -> VDBMv1.Keys {
        guard let keys else { return VDBMv1.Keys(ints: [], strings: []) }
        return VDBMv1.Keys(ints: ProtobufC.array(keys.pointee.n_int_ids, keys.pointee.int_ids),
                           strings: try ProtobufC.strings(keys.pointee.n_string_ids, keys.pointee.string_ids, field: "ids.string_ids"))
    }

    static func readParams(_ count: Int, _ params: UnsafeMutablePointer<UnsafeMutablePointer<Vdbm__V1__Param>?>?,
                           field: String) throws(ProtobufDecodingError) -> [VDBMv1.Param] {
        try ProtobufC.messages(count, params) { param throws(ProtobufDecodingError) in
            let value: ParamValue
            switch param.pointee.kind_case {
            case VDBM__V1__PARAM__KIND_NUMBER: value = .double(param.pointee.number)
            case VDBM__V1__PARAM__KIND_TEXT: value = .string(try ProtobufC.string(param.pointee.text, field: field))
            // An Int64 that no Int holds cannot exist on our 64-bit targets; unset is the integer 0.
            default: value = .int(Int(truncatingIfNeeded: param.pointee.value))
            }
            return VDBMv1.Param(key: try ProtobufC.string(param.pointee.key, field: field), value: value)
        }
    }

    static func build(name: String, values: FieldValues, in arena: ProtobufCArena) -> UnsafeMutablePointer<Vdbm__V1__Column> {
        arena.message(vdbm__v1__column__init) { column in
            column.name = arena.string(name)
            switch values {
            case .bools(let values):
                column.values_case = VDBM__V1__COLUMN__VALUES_BOOLS
                column.bools = arena.message(vdbm__v1__bool_values__init) {
                    ($0.n_values, $0.values) = (values.count, arena.array(values.map { $0 ? 1 : 0 }))
                }
            case .int32s(let values):
                column.values_case = VDBM__V1__COLUMN__VALUES_INT32S
                column.int32s = arena.message(vdbm__v1__int32_values__init) { ($0.n_values, $0.values) = (values.count, arena.array(values)) }
            case .int64s(let values):
                column.values_case = VDBM__V1__COLUMN__VALUES_INT64S
                column.int64s = arena.message(vdbm__v1__int64_values__init) { ($0.n_values, $0.values) = (values.count, arena.array(values)) }
            case .floats(let values):
                column.values_case = VDBM__V1__COLUMN__VALUES_FLOATS
                column.floats = arena.message(vdbm__v1__float_values__init) { ($0.n_values, $0.values) = (values.count, arena.array(values)) }
            case .doubles(let values):
                column.values_case = VDBM__V1__COLUMN__VALUES_DOUBLES
                column.doubles = arena.message(vdbm__v1__double_values__init) { ($0.n_values, $0.values) = (values.count, arena.array(values)) }
            case .strings(let values):
                column.values_case = VDBM__V1__COLUMN__VALUES_STRINGS
                column.strings = arena.message(vdbm__v1__string_values__init) { ($0.n_values, $0.values) = (values.count, arena.strings(values)) }
            case .json(let values):
                column.values_case = VDBM__V1__COLUMN__VALUES_JSON
                column.json = arena.message(vdbm__v1__string_values__init) { ($0.n_values, $0.values) = (values.count, arena.strings(values)) }
            case .floatVectors(let dimension, let values):
                column.values_case = VDBM__V1__COLUMN__VALUES_VECTORS
                column.vectors = arena.message(vdbm__v1__float_vectors__init) { vectors in
                    vectors.dimension = UInt32(clamping: dimension)
                    (vectors.n_values, vectors.values) = (values.count, arena.array(values))
                }
            case .sparseVectors(let rows):
                column.values_case = VDBM__V1__COLUMN__VALUES_SPARSE_VECTORS
                column.sparse_vectors = buildSparse(rows, in: arena)
            }
        }
    }

    static func buildSparse(_ rows: [SparseVector], in arena: ProtobufCArena) -> UnsafeMutablePointer<Vdbm__V1__SparseVectors> {
        let built = rows.map { row in
            arena.message(vdbm__v1__sparse_vector__init) { vector in
                (vector.n_indices, vector.indices) = (row.indices.count, arena.array(row.indices))
                (vector.n_values, vector.values) = (row.values.count, arena.array(row.values))
            }
        }
        return arena.message(vdbm__v1__sparse_vectors__init) { ($0.n_rows, $0.rows) = (built.count, arena.pointers(built)) }
    }

    static func build(_ keys: PrimaryKeys, in arena: ProtobufCArena) -> UnsafeMutablePointer<Vdbm__V1__PrimaryKeys> {
        arena.message(vdbm__v1__primary_keys__init) { message in
            switch keys {
            case .int64s(let values): (message.n_int_ids, message.int_ids) = (values.count, arena.array(values))
            case .strings(let values): (message.n_string_ids, message.string_ids) = (values.count, arena.strings(values))
            }
        }
    }
}

extension RawRepresentable where RawValue: BinaryInteger {
    /// A protobuf-c enum field as its wire number (unknown numbers pass through unchanged).
    var wireNumber: Int32 { Int32(truncatingIfNeeded: rawValue) }
}
