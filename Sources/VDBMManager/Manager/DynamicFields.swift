import MilvusClient
import VDBMDomain
import VDBMProtobuf

/// Fields that are not in a collection's schema ("dynamic fields", when the collection allows
/// them). Milvus keeps them per row in one JSON object, its `$meta` column: vdbm packs extra
/// columns into it on writes, and on reads unpacks the names a caller asked for back into columns.
enum DynamicFields {
    /// Milvus's name for the column of dynamic fields.
    static let metaField = "$meta"

    // MARK: Writes

    /// The `$meta` column holding `extras` (columns not in the schema), one JSON object per row,
    /// merged into `meta` when the caller also sent a `$meta` column of its own.
    static func metaColumn(extras: [(name: String, values: FieldValues)], meta: [String]?, rows: Int)
        throws(VectorDBError) -> MilvusFieldData {
        var objects: [[(key: String, value: JSONValue)]] = []
        objects.reserveCapacity(rows)
        for row in 0..<rows {
            var members: [(key: String, value: JSONValue)] = []
            if let meta {
                guard case .object(let given)? = try? JSONValue(parsing: meta[row]) else {
                    throw .invalidArgument("column '\(metaField)' row \(row) is not a JSON object")
                }
                members = given
            }
            for extra in extras {
                members.removeAll { $0.key == extra.name }
                members.append((extra.name, try jsonValue(extra.values, row: row, column: extra.name)))
            }
            objects.append(members)
        }
        return MilvusFieldData(name: metaField, dataType: FieldType.json.milvusNumber,
                               values: .json(objects.map { JSONValue.object($0).text }), isDynamic: true)
    }

    private static func jsonValue(_ values: FieldValues, row: Int, column: String) throws(VectorDBError) -> JSONValue {
        func number<T: BinaryFloatingPoint & LosslessStringConvertible>(_ value: T) throws(VectorDBError) -> JSONValue {
            guard value.isFinite else { throw .invalidArgument("column '\(column)' row \(row): JSON has no NaN or infinity") }
            return .number(value.description)
        }
        switch values {
        case .bools(let values): return .bool(values[row])
        case .int32s(let values): return .number("\(values[row])")
        case .int64s(let values): return .number("\(values[row])")
        case .floats(let values): return try number(values[row])
        case .doubles(let values): return try number(values[row])
        case .strings(let values): return .string(values[row])
        case .json(let values):
            do {
                return try JSONValue(parsing: values[row])
            } catch {
                throw .invalidArgument("column '\(column)' row \(row) is not valid JSON: \(error)")
            }
        case .floatVectors, .sparseVectors:
            throw .invalidArgument("column '\(column)' is not in the schema, and a dynamic field cannot hold vectors")
        }
    }

    // MARK: Reads

    /// Replaces the `$meta` column among `columns` with a column per name in `names` (rows without
    /// the field read as JSON null). `$meta` itself stays when `keepMeta`.
    static func unpack(_ columns: [String: FieldValues], names: [String], keepMeta: Bool) -> [String: FieldValues] {
        guard case .json(let documents)? = columns[metaField] else { return columns }
        var result = columns
        if !keepMeta { result[metaField] = nil }
        guard !names.isEmpty else { return result }
        let objects = documents.map { try? JSONValue(parsing: $0) }
        for name in names {
            result[name] = column(objects.map { $0?[name] })
        }
        return result
    }

    /// One dynamic field's values as the narrowest column that holds them all: bools, int64s,
    /// doubles or strings when every row has such a value, JSON text otherwise.
    static func column(_ values: [JSONValue?]) -> FieldValues {
        var bools: [Bool] = [], ints: [Int64] = [], doubles: [Double] = [], strings: [String] = []
        for value in values {
            switch value {
            case .bool(let flag)?: bools.append(flag)
            case .number(let text)?:
                if let integer = Int64(text) { ints.append(integer) }
                if let double = Double(text) { doubles.append(double) }
            case .string(let text)?: strings.append(text)
            default: break
            }
        }
        let rows = values.count
        if bools.count == rows { return .bools(bools) }
        if ints.count == rows { return .int64s(ints) }
        if doubles.count == rows { return .doubles(doubles) }
        if strings.count == rows { return .strings(strings) }
        return .json(values.map { ($0 ?? .null).text })
    }
}
