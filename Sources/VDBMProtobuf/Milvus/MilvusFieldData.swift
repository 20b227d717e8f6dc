import CVDBMProtos
import VDBMDomain

/// `milvus.proto.schema.FieldData`: one column of values, as Milvus sends and takes rows. The
/// values are the domain's `FieldValues` (JSON documents as text, UTF-8 on the wire), so the
/// manager hands columns through without converting them.
public struct MilvusFieldData: Sendable, Hashable {
    public var name: String
    /// The `DataType` number the column holds.
    public var dataType: Int32
    public var values: FieldValues
    public var isDynamic: Bool
    /// False for a column of a kind vdbm does not read (sparse vectors, arrays, ...): `values` is
    /// then an empty placeholder, not the column's rows.
    public var isReadable: Bool
    /// Which rows hold a value (Milvus's `valid_data`, for nullable and defaulted fields); empty:
    /// every row does. `values` holds only the rows that have one.
    public var validity: [Bool] = []

    public init(name: String, dataType: Int32, values: FieldValues, isDynamic: Bool = false, isReadable: Bool = true) {
        self.name = name
        self.dataType = dataType
        self.values = values
        self.isDynamic = isDynamic
        self.isReadable = isReadable
    }

    /// Rows in the column.
    public var rowCount: Int { validity.isEmpty ? values.count : validity.count }

    /// A column of `rows` nulls for a field of `type` (nil for a kind vdbm does not write).
    public static func nulls(_ name: String, type: FieldType, rows: Int) -> MilvusFieldData? {
        let empty: FieldValues
        switch type {
        case .bool: empty = .bools([])
        case .int8, .int16, .int32: empty = .int32s([])
        case .int64: empty = .int64s([])
        case .float: empty = .floats([])
        case .double: empty = .doubles([])
        case .varchar: empty = .strings([])
        case .json: empty = .json([])
        case .floatVector, .sparseFloatVector, .other: return nil
        }
        var column = MilvusFieldData(name: name, dataType: type.milvusNumber, values: empty)
        column.validity = Array(repeating: false, count: rows)
        return column
    }

    func build(in arena: ProtobufCArena) -> UnsafeMutablePointer<Milvus__Proto__Schema__FieldData> {
        arena.message(milvus__proto__schema__field_data__init) { message in
            message.type = dataType
            message.field_name = arena.string(name)
            message.is_dynamic = isDynamic ? 1 : 0
            (message.n_valid_data, message.valid_data) = (validity.count, arena.array(validity.map { $0 ? 1 : 0 }))
            if case .floatVectors(let dim, let values) = values {
                message.field_case = MILVUS__PROTO__SCHEMA__FIELD_DATA__FIELD_VECTORS
                message.vectors = arena.message(milvus__proto__schema__vector_field__init) { vectors in
                    vectors.dim = Int64(dim)
                    vectors.data_case = MILVUS__PROTO__SCHEMA__VECTOR_FIELD__DATA_FLOAT_VECTOR
                    vectors.float_vector = arena.message(milvus__proto__schema__float_array__init) { array in
                        array.n_data = values.count
                        array.data = arena.array(values)
                    }
                }
                return
            }
            if case .sparseVectors(let rows) = values {
                message.field_case = MILVUS__PROTO__SCHEMA__FIELD_DATA__FIELD_VECTORS
                message.vectors = arena.message(milvus__proto__schema__vector_field__init) { vectors in
                    vectors.dim = MilvusSparseRows.dimension(rows)
                    vectors.data_case = MILVUS__PROTO__SCHEMA__VECTOR_FIELD__DATA_SPARSE_FLOAT_VECTOR
                    vectors.sparse_float_vector = arena.message(milvus__proto__schema__sparse_float_array__init) { array in
                        array.dim = vectors.dim
                        array.n_contents = rows.count
                        array.contents = arena.array(rows.map { arena.binary(MilvusSparseRows.bytes($0)) })
                    }
                }
                return
            }
            message.field_case = MILVUS__PROTO__SCHEMA__FIELD_DATA__FIELD_SCALARS
            message.scalars = arena.message(milvus__proto__schema__scalar_field__init) { scalars in
                switch values {
                case .bools(let values):
                    scalars.data_case = MILVUS__PROTO__SCHEMA__SCALAR_FIELD__DATA_BOOL_DATA
                    scalars.bool_data = arena.message(milvus__proto__schema__bool_array__init) { array in
                        array.n_data = values.count
                        array.data = arena.array(values.map { $0 ? 1 : 0 })
                    }
                case .int32s(let values):
                    scalars.data_case = MILVUS__PROTO__SCHEMA__SCALAR_FIELD__DATA_INT_DATA
                    scalars.int_data = arena.message(milvus__proto__schema__int_array__init) { array in
                        array.n_data = values.count
                        array.data = arena.array(values)
                    }
                case .int64s(let values):
                    scalars.data_case = MILVUS__PROTO__SCHEMA__SCALAR_FIELD__DATA_LONG_DATA
                    scalars.long_data = Self.longArray(values, in: arena)
                case .floats(let values):
                    scalars.data_case = MILVUS__PROTO__SCHEMA__SCALAR_FIELD__DATA_FLOAT_DATA
                    scalars.float_data = arena.message(milvus__proto__schema__float_array__init) { array in
                        array.n_data = values.count
                        array.data = arena.array(values)
                    }
                case .doubles(let values):
                    scalars.data_case = MILVUS__PROTO__SCHEMA__SCALAR_FIELD__DATA_DOUBLE_DATA
                    scalars.double_data = arena.message(milvus__proto__schema__double_array__init) { array in
                        array.n_data = values.count
                        array.data = arena.array(values)
                    }
                case .strings(let values):
                    scalars.data_case = MILVUS__PROTO__SCHEMA__SCALAR_FIELD__DATA_STRING_DATA
                    scalars.string_data = Self.stringArray(values, in: arena)
                case .json(let values):
                    scalars.data_case = MILVUS__PROTO__SCHEMA__SCALAR_FIELD__DATA_JSON_DATA
                    scalars.json_data = arena.message(milvus__proto__schema__jsonarray__init) { array in
                        array.n_data = values.count
                        array.data = arena.array(values.map { arena.binary(Array($0.utf8)) })
                    }
                case .floatVectors, .sparseVectors:
                    break  // handled above
                }
            }
        }
    }

    /// Reads a column; a kind vdbm does not read comes back unreadable, with no values.
    static func read(_ field: UnsafePointer<Milvus__Proto__Schema__FieldData>) -> MilvusFieldData {
        let name = ProtobufC.text(field.pointee.field_name)
        let column: FieldValues
        switch field.pointee.field_case {
        case MILVUS__PROTO__SCHEMA__FIELD_DATA__FIELD_VECTORS:
            let vectors = field.pointee.vectors!.pointee
            if vectors.data_case == MILVUS__PROTO__SCHEMA__VECTOR_FIELD__DATA_SPARSE_FLOAT_VECTOR {
                let array = vectors.sparse_float_vector.pointee
                // A row that is not whole components is left out: checkRows then reports the
                // column as malformed.
                column = .sparseVectors(ProtobufC.array(array.n_contents, array.contents).compactMap { row in
                    MilvusSparseRows.read(UnsafeRawBufferPointer(start: row.data, count: row.len))
                })
                break
            }
            guard vectors.data_case == MILVUS__PROTO__SCHEMA__VECTOR_FIELD__DATA_FLOAT_VECTOR else {
                return MilvusFieldData(name: name, dataType: field.pointee.type, values: .strings([]), isReadable: false)
            }
            let values = ProtobufC.array(vectors.float_vector.pointee.n_data, vectors.float_vector.pointee.data)
            // A dimension that no Int holds is as malformed as 0: checkRows reports both.
            column = .floatVectors(dimension: Int(exactly: vectors.dim) ?? 0, values: values)
        case MILVUS__PROTO__SCHEMA__FIELD_DATA__FIELD_SCALARS:
            let scalars = field.pointee.scalars!.pointee
            switch scalars.data_case {
            case MILVUS__PROTO__SCHEMA__SCALAR_FIELD__DATA_BOOL_DATA:
                column = .bools(ProtobufC.array(scalars.bool_data.pointee.n_data, scalars.bool_data.pointee.data).map { $0 != 0 })
            case MILVUS__PROTO__SCHEMA__SCALAR_FIELD__DATA_INT_DATA:
                column = .int32s(ProtobufC.array(scalars.int_data.pointee.n_data, scalars.int_data.pointee.data))
            case MILVUS__PROTO__SCHEMA__SCALAR_FIELD__DATA_LONG_DATA:
                column = .int64s(ProtobufC.array(scalars.long_data.pointee.n_data, scalars.long_data.pointee.data))
            case MILVUS__PROTO__SCHEMA__SCALAR_FIELD__DATA_FLOAT_DATA:
                column = .floats(ProtobufC.array(scalars.float_data.pointee.n_data, scalars.float_data.pointee.data))
            case MILVUS__PROTO__SCHEMA__SCALAR_FIELD__DATA_DOUBLE_DATA:
                column = .doubles(ProtobufC.array(scalars.double_data.pointee.n_data, scalars.double_data.pointee.data))
            case MILVUS__PROTO__SCHEMA__SCALAR_FIELD__DATA_STRING_DATA:
                column = .strings(ProtobufC.texts(scalars.string_data.pointee.n_data, scalars.string_data.pointee.data))
            case MILVUS__PROTO__SCHEMA__SCALAR_FIELD__DATA_JSON_DATA:
                column = .json(ProtobufC.array(scalars.json_data.pointee.n_data, scalars.json_data.pointee.data)
                    .map { String(decoding: ProtobufC.bytes($0), as: UTF8.self) })
            default:
                return MilvusFieldData(name: name, dataType: field.pointee.type, values: .strings([]), isReadable: false)
            }
        default:
            return MilvusFieldData(name: name, dataType: field.pointee.type, values: .strings([]), isReadable: false)
        }
        return MilvusFieldData(name: name, dataType: field.pointee.type, values: column,
                               isDynamic: field.pointee.is_dynamic != 0)
    }
}

extension MilvusFieldData {
    /// A `LongArray` (a column of integers, or integer primary keys).
    static func longArray(_ values: [Int64], in arena: ProtobufCArena) -> UnsafeMutablePointer<Milvus__Proto__Schema__LongArray> {
        arena.message(milvus__proto__schema__long_array__init) { array in
            array.n_data = values.count
            array.data = arena.array(values)
        }
    }

    /// A `StringArray` (a column of text, or string primary keys).
    static func stringArray(_ values: [String], in arena: ProtobufCArena)
        -> UnsafeMutablePointer<Milvus__Proto__Schema__StringArray> {
        arena.message(milvus__proto__schema__string_array__init) { array in
            array.n_data = values.count
            array.data = arena.strings(values)
        }
    }
}

/// `milvus.proto.schema.IDs`: primary keys, integer or string.
public enum MilvusIDs: Sendable, Hashable {
    case int64s([Int64])
    case strings([String])

    public var count: Int {
        switch self {
        case .int64s(let values): values.count
        case .strings(let values): values.count
        }
    }

    func build(in arena: ProtobufCArena) -> UnsafeMutablePointer<Milvus__Proto__Schema__IDs> {
        arena.message(milvus__proto__schema__ids__init) { ids in
            switch self {
            case .int64s(let values):
                ids.id_field_case = MILVUS__PROTO__SCHEMA__IDS__ID_FIELD_INT_ID
                ids.int_id = MilvusFieldData.longArray(values, in: arena)
            case .strings(let values):
                ids.id_field_case = MILVUS__PROTO__SCHEMA__IDS__ID_FIELD_STR_ID
                ids.str_id = MilvusFieldData.stringArray(values, in: arena)
            }
        }
    }

    static func read(_ ids: UnsafePointer<Milvus__Proto__Schema__IDs>?) -> MilvusIDs {
        guard let ids else { return .int64s([]) }
        switch ids.pointee.id_field_case {
        case MILVUS__PROTO__SCHEMA__IDS__ID_FIELD_STR_ID:
            return .strings(ProtobufC.texts(ids.pointee.str_id.pointee.n_data, ids.pointee.str_id.pointee.data))
        case MILVUS__PROTO__SCHEMA__IDS__ID_FIELD_INT_ID:
            return .int64s(ProtobufC.array(ids.pointee.int_id.pointee.n_data, ids.pointee.int_id.pointee.data))
        default:
            return .int64s([])
        }
    }
}
