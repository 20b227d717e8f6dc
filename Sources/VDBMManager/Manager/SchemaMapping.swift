import MilvusClient
import VDBMDomain
import VDBMProtobuf

/// Conversions between the manager's domain values and Milvus's messages, with the checks that
/// need the schema (field names, row counts, vector dimensions).
enum SchemaMapping {
    static func validateName(_ name: String, kind: String) throws(VectorDBError) {
        if let problem = Names.problem(with: name, kind: kind) { throw .invalidArgument(problem) }
    }

    static func schema(for spec: CollectionSpec) throws(VectorDBError) -> MilvusCollectionSchema {
        try validateName(spec.name, kind: "collection")
        try validateName(spec.primaryKeyField, kind: "field")
        try validateName(spec.vectorField, kind: "field")
        guard (1...32_768).contains(spec.dimension) else {
            throw .invalidArgument("dimension \(spec.dimension) is outside 1...32768")
        }
        var names: Set<String> = [spec.primaryKeyField, spec.vectorField]
        guard names.count == 2 else { throw .invalidArgument("the key and vector fields need different names") }
        var fields: [MilvusFieldSchema] = []
        switch spec.primaryKey {
        case .int64(let autoID):
            fields.append(MilvusFieldSchema(name: spec.primaryKeyField, isPrimaryKey: true, dataType: 5, autoID: autoID))
        case .string(let maxLength):
            guard (1...65_535).contains(maxLength) else { throw .invalidArgument("string key max length \(maxLength) is outside 1...65535") }
            fields.append(MilvusFieldSchema(name: spec.primaryKeyField, isPrimaryKey: true, dataType: 21,
                                            typeParams: [MilvusKeyValue("max_length", "\(maxLength)")]))
        }
        fields.append(MilvusFieldSchema(name: spec.vectorField, dataType: 101,
                                        typeParams: [MilvusKeyValue("dim", "\(spec.dimension)")]))
        for scalar in spec.scalarFields {
            try validateName(scalar.name, kind: "field")
            guard names.insert(scalar.name).inserted else { throw .invalidArgument("field '\(scalar.name)' is declared twice") }
            var params: [MilvusKeyValue] = []
            let type: Int32
            switch scalar.type {
            case .bool: type = 1
            case .int32: type = 4
            case .int64: type = 5
            case .float: type = 10
            case .double: type = 11
            case .json: type = 23
            case .string(let maxLength):
                guard (1...65_535).contains(maxLength) else { throw .invalidArgument("field '\(scalar.name)' max length is outside 1...65535") }
                type = 21
                params = [MilvusKeyValue("max_length", "\(maxLength)")]
            }
            fields.append(MilvusFieldSchema(name: scalar.name, dataType: type, typeParams: params, nullable: scalar.nullable))
        }
        return MilvusCollectionSchema(name: spec.name, description: spec.description,
                                      autoID: spec.primaryKey == .int64(autoID: true), fields: fields,
                                      enableDynamicField: spec.enableDynamicFields)
    }

    static func schemaInfo(_ described: MilvusResponse.DescribeCollection, name: String) -> CollectionSchemaInfo {
        let fields = (described.schema?.fields ?? []).map { field in
            FieldInfo(name: field.name, type: FieldType(milvus: field.dataType), isPrimaryKey: field.isPrimaryKey,
                      autoID: field.autoID || (field.isPrimaryKey && described.schema?.autoID == true),
                      dimension: field.typeParams.first { $0.key == "dim" }.flatMap { Int($0.value) },
                      maxLength: field.typeParams.first { $0.key == "max_length" }.flatMap { Int($0.value) },
                      nullable: field.nullable)
        }
        return CollectionSchemaInfo(name: name, description: described.schema?.description ?? "", fields: fields,
                                    consistency: ConsistencyLevel(rawValue: described.consistencyLevel) ?? .session)
    }

    /// The columns Milvus expects for `entities` under `schema`.
    static func columns(_ entities: Entities, schema: CollectionSchemaInfo, upsert: Bool) throws(VectorDBError) -> [MilvusFieldData] {
        let rows = entities.rowCount
        guard rows > 0 else { throw .invalidArgument("no rows to \(upsert ? "upsert" : "insert")") }
        var columns: [MilvusFieldData] = []
        for (name, values) in entities.columns.sorted(by: { $0.key < $1.key }) {
            guard let field = schema.field(name) else {
                throw .invalidArgument("collection '\(schema.name)' has no field '\(name)'")
            }
            if field.isPrimaryKey && field.autoID && !upsert {
                throw .invalidArgument("field '\(name)' is an auto-generated key: leave it out of inserts")
            }
            guard values.count == rows else {
                throw .invalidArgument("column '\(name)' has \(values.count) rows, other columns \(rows)")
            }
            columns.append(try column(name: name, values: values, field: field))
        }
        for field in schema.fields where entities.columns[field.name] == nil {
            if field.isPrimaryKey && field.autoID && !upsert { continue }
            if field.nullable { continue }
            throw .invalidArgument("missing field '\(field.name)'")
        }
        return columns
    }

    private static func column(name: String, values: FieldValues, field: FieldInfo) throws(VectorDBError) -> MilvusFieldData {
        func mismatch() -> VectorDBError {
            .invalidArgument("field '\(name)' holds \(field.type), not the values given")
        }
        // Values that already have the field's type pass through as they are (no copy); integer
        // and floating-point widths are converted where Milvus wants another one.
        let column: FieldValues
        switch (field.type, values) {
        case (.floatVector, .floatVectors(let dimension, _)):
            guard dimension == field.dimension else {
                throw .invalidArgument("field '\(name)' has dimension \(field.dimension ?? 0), vectors have \(dimension)")
            }
            column = values
        case (.bool, .bools), (.int8, .int32s), (.int16, .int32s), (.int32, .int32s), (.int64, .int64s), (.float, .floats),
             (.double, .doubles), (.json, .json):
            column = values
        case (.int8, .int64s(let values)), (.int16, .int64s(let values)), (.int32, .int64s(let values)):
            column = .int32s(values.map { Int32(clamping: $0) })
        case (.int64, .int32s(let values)): column = .int64s(values.map(Int64.init))
        case (.float, .doubles(let values)): column = .floats(values.map(Float.init))
        case (.double, .floats(let values)): column = .doubles(values.map(Double.init))
        case (.varchar, .strings(let strings)):
            if let maxLength = field.maxLength, let long = strings.first(where: { $0.utf8.count > maxLength }) {
                throw .invalidArgument("field '\(name)' allows \(maxLength) bytes; a value has \(long.utf8.count)")
            }
            column = values
        default: throw mismatch()
        }
        return MilvusFieldData(name: name, dataType: field.type.milvusNumber, values: column)
    }

    static func keys(_ ids: MilvusIDs) -> PrimaryKeys {
        switch ids {
        case .int64s(let values): .int64s(values)
        case .strings(let values): .strings(values)
        }
    }

    /// `key in [...]`, with string keys quoted and escaped.
    static func membership(_ keys: PrimaryKeys, field: String) -> String {
        switch keys {
        case .int64s(let values):
            return "\(field) in [\(values.map(String.init).joined(separator: ", "))]"
        case .strings(let values):
            let quoted = values.map { value -> String in
                var escaped = ""
                for character in value {
                    if character == "\"" || character == "\\" { escaped.append("\\") }
                    escaped.append(character)
                }
                return "\"\(escaped)\""
            }
            return "\(field) in [\(quoted.joined(separator: ", "))]"
        }
    }

    /// `{"ef": 64}` from integer parameters, keys sorted so requests are stable.
    static func jsonObject(_ params: [String: Int]) -> String {
        "{" + params.keys.sorted().map { "\"\($0)\": \(params[$0]!)" }.joined(separator: ", ") + "}"
    }
}
