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
        var names: Set<String> = [spec.primaryKeyField]
        func declare(_ name: String) throws(VectorDBError) {
            try validateName(name, kind: "field")
            guard names.insert(name).inserted else { throw .invalidArgument("field '\(name)' is declared twice") }
        }
        var fields: [MilvusFieldSchema] = []
        switch spec.primaryKey {
        case .int64(let autoID):
            fields.append(MilvusFieldSchema(name: spec.primaryKeyField, isPrimaryKey: true, dataType: 5, autoID: autoID))
        case .string(let maxLength):
            guard (1...65_535).contains(maxLength) else { throw .invalidArgument("string key max length \(maxLength) is outside 1...65535") }
            fields.append(MilvusFieldSchema(name: spec.primaryKeyField, isPrimaryKey: true, dataType: 21,
                                            typeParams: [MilvusKeyValue("max_length", "\(maxLength)")]))
        }
        if spec.hasQuickVectorField {
            try declare(spec.vectorField)
            fields.append(try floatVectorField(spec.vectorField, dimension: spec.dimension))
        }
        for vector in spec.vectorFields {
            try declare(vector.name)
            switch vector.kind {
            case .float(let dimension): fields.append(try floatVectorField(vector.name, dimension: dimension))
            case .sparse: fields.append(MilvusFieldSchema(name: vector.name, dataType: FieldType.sparseFloatVector.milvusNumber))
            }
        }
        for scalar in spec.scalarFields {
            try declare(scalar.name)
            fields.append(try scalarField(scalar))
        }
        if spec.scalarFields.filter(\.isPartitionKey).count > 1 {
            throw .invalidArgument("a collection has at most one partition key field")
        }
        if let count = spec.partitionCount {
            guard spec.scalarFields.contains(where: \.isPartitionKey) else {
                throw .invalidArgument("partition_count needs a partition_key field")
            }
            guard (1...4096).contains(count) else { throw .invalidArgument("partition_count \(count) is outside 1...4096") }
        }
        var schema = MilvusCollectionSchema(name: spec.name, description: spec.description,
                                            autoID: spec.primaryKey == .int64(autoID: true), fields: fields,
                                            enableDynamicField: spec.enableDynamicFields)
        schema.functions = try spec.functions.map { function throws(VectorDBError) in
            try functionSchema(function, fields: &schema.fields)
        }
        return schema
    }

    private static func floatVectorField(_ name: String, dimension: Int) throws(VectorDBError) -> MilvusFieldSchema {
        guard (1...32_768).contains(dimension) else {
            throw .invalidArgument("field '\(name)': dimension \(dimension) is outside 1...32768")
        }
        return MilvusFieldSchema(name: name, dataType: 101, typeParams: [MilvusKeyValue("dim", "\(dimension)")])
    }

    private static func scalarField(_ scalar: ScalarFieldSpec) throws(VectorDBError) -> MilvusFieldSchema {
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
        if scalar.enableAnalyzer || scalar.enableMatch || scalar.analyzerParams != nil {
            guard type == 21 else { throw .invalidArgument("field '\(scalar.name)': only string fields have an analyzer") }
            guard scalar.enableAnalyzer else {
                throw .invalidArgument("field '\(scalar.name)': enable_match and analyzer_params need enable_analyzer")
            }
            params.append(MilvusKeyValue("enable_analyzer", "true"))
            if scalar.enableMatch { params.append(MilvusKeyValue("enable_match", "true")) }
            if let analyzer = scalar.analyzerParams {
                guard case .object = try? JSONValue(parsing: analyzer) else {
                    throw .invalidArgument("field '\(scalar.name)': analyzer_params is not a JSON object")
                }
                params.append(MilvusKeyValue("analyzer_params", analyzer))
            }
        }
        if scalar.isPartitionKey && type != 5 && type != 21 {
            throw .invalidArgument("field '\(scalar.name)': a partition key is an int64 or string field")
        }
        var field = MilvusFieldSchema(name: scalar.name, dataType: type, typeParams: params, isPartitionKey: scalar.isPartitionKey,
                                      nullable: scalar.nullable)
        if let value = scalar.defaultValue { field.defaultValue = try defaultValue(value, of: scalar) }
        return field
    }

    /// A default value as Milvus wants it for the field's type; one of another kind is refused.
    private static func defaultValue(_ value: ScalarValue, of field: ScalarFieldSpec) throws(VectorDBError) -> MilvusDefaultValue {
        switch (field.type, value) {
        case (.bool, .bool(let flag)): return .bool(flag)
        case (.int32, .int(let integer)):
            guard let value = Int32(exactly: integer) else {
                throw .invalidArgument("field '\(field.name)': default \(integer) is outside INT32's range")
            }
            return .int32(value)
        case (.int64, .int(let integer)): return .int64(integer)
        case (.float, .double(let number)) where number.isFinite && Float(number).isFinite: return .float(Float(number))
        case (.float, .int(let integer)): return .float(Float(integer))
        case (.double, .double(let number)) where number.isFinite: return .double(number)
        case (.double, .int(let integer)): return .double(Double(integer))
        case (.string(let maxLength), .string(let text)):
            guard text.utf8.count <= maxLength else {
                throw .invalidArgument("field '\(field.name)': the default has \(text.utf8.count) bytes, more than max_length \(maxLength)")
            }
            return .string(text)
        default:
            throw .invalidArgument("field '\(field.name)': default value \(value) does not suit its type")
        }
    }

    /// A BM25 function: one analyzed string field in, one sparse field out (marked as the
    /// function's output, so rows leave it out).
    private static func functionSchema(_ function: FunctionSpec, fields: inout [MilvusFieldSchema]) throws(VectorDBError)
        -> MilvusFunctionSchema {
        try validateName(function.name, kind: "function")
        guard function.inputFields.count == 1, function.outputFields.count == 1,
              let input = fields.firstIndex(where: { $0.name == function.inputFields[0] }),
              let output = fields.firstIndex(where: { $0.name == function.outputFields[0] }) else {
            throw .invalidArgument("function '\(function.name)': BM25 takes one string field of the collection and fills one sparse vector field")
        }
        guard fields[input].dataType == 21, fields[input].typeParams.contains(MilvusKeyValue("enable_analyzer", "true")) else {
            throw .invalidArgument("function '\(function.name)': input field '\(fields[input].name)' must be a string field with enable_analyzer")
        }
        guard fields[output].dataType == FieldType.sparseFloatVector.milvusNumber else {
            throw .invalidArgument("function '\(function.name)': output field '\(fields[output].name)' must be a sparse vector field")
        }
        fields[output].isFunctionOutput = true
        return MilvusFunctionSchema(name: function.name, type: function.type.rawValue, inputFields: function.inputFields,
                                    outputFields: function.outputFields)
    }

    static func schemaInfo(_ described: MilvusResponse.DescribeCollection, name: String) -> CollectionSchemaInfo {
        let fields = (described.schema?.fields ?? []).map { field in
            var info = FieldInfo(name: field.name, type: FieldType(milvus: field.dataType), isPrimaryKey: field.isPrimaryKey,
                                 autoID: field.autoID || (field.isPrimaryKey && described.schema?.autoID == true),
                                 dimension: field.typeParams.first { $0.key == "dim" }.flatMap { Int($0.value) },
                                 maxLength: field.typeParams.first { $0.key == "max_length" }.flatMap { Int($0.value) },
                                 nullable: field.nullable, hasDefaultValue: field.hasDefaultValue,
                                 isFunctionOutput: field.isFunctionOutput)
            info.isPartitionKey = field.isPartitionKey
            info.enableAnalyzer = field.typeParams.contains { $0.key == "enable_analyzer" && $0.value.lowercased() == "true" }
            info.enableMatch = field.typeParams.contains { $0.key == "enable_match" && $0.value.lowercased() == "true" }
            return info
        }
        var info = CollectionSchemaInfo(name: name, description: described.schema?.description ?? "",
                                        fields: fields.filter { !$0.name.hasPrefix("$") },
                                        consistency: ConsistencyLevel(rawValue: described.consistencyLevel) ?? .session,
                                        dynamicFields: described.schema?.enableDynamicField ?? false)
        // Functions vdbm does not know (text embedding, rerank, ...) are not described.
        info.functions = (described.schema?.functions ?? []).compactMap { function in
            FunctionSpec.Kind(rawValue: function.type).map {
                FunctionSpec(name: function.name, type: $0, inputFields: function.inputFields, outputFields: function.outputFields)
            }
        }
        // Milvus Lite 2.5 describes the functions but not the flag on their output fields.
        let outputs = Set((described.schema?.functions ?? []).flatMap(\.outputFields))
        for index in info.fields.indices where outputs.contains(info.fields[index].name) { info.fields[index].isFunctionOutput = true }
        return info
    }

    /// The columns Milvus expects for `entities` under `schema`.
    static func columns(_ entities: Entities, schema: CollectionSchemaInfo, upsert: Bool) throws(VectorDBError) -> [MilvusFieldData] {
        let sorted = entities.columns.sorted(by: { $0.key < $1.key })
        guard let (first, firstValues) = sorted.first, firstValues.count > 0 else {
            throw .invalidArgument("no rows to \(upsert ? "upsert" : "insert")")
        }
        let rows = firstValues.count
        var columns: [MilvusFieldData] = []
        var extras: [(name: String, values: FieldValues)] = []
        var meta: [String]?
        func checkRows(_ name: String, _ values: FieldValues) throws(VectorDBError) {
            guard values.count == rows else {
                throw .invalidArgument("column '\(name)' has \(values.count) rows, column '\(first)' has \(rows)")
            }
        }
        for (name, values) in sorted {
            guard let field = schema.field(name) else {
                guard schema.dynamicFields else {
                    throw .invalidArgument("collection '\(schema.name)' has no field '\(name)' (and was created without "
                                           + "enable_dynamic_fields)")
                }
                try checkRows(name, values)
                if name == DynamicFields.metaField {
                    guard case .json(let documents) = values else {
                        throw .invalidArgument("column '\(name)' holds the dynamic fields: send it as json objects")
                    }
                    meta = documents
                } else {
                    extras.append((name, values))
                }
                continue
            }
            if field.isPrimaryKey && field.autoID && !upsert {
                throw .invalidArgument("field '\(name)' is an auto-generated key: leave it out of inserts")
            }
            // The type first: a column of the wrong kind (floats for a vector field) also has the
            // wrong row count, and the type is what the caller must fix.
            let converted = try column(name: name, values: values, field: field)
            try checkRows(name, values)
            columns.append(converted)
        }
        if meta != nil || !extras.isEmpty {
            columns.append(try DynamicFields.metaColumn(extras: extras, meta: meta, rows: rows))
        }
        for field in schema.fields where entities.columns[field.name] == nil {
            if field.isPrimaryKey && field.autoID && !upsert { continue }
            if field.isFunctionOutput { continue }
            // A nullable or defaulted field left out goes as a column of nulls, as pymilvus sends
            // it: Milvus 2.5 refuses an insert without the column ("Lost field").
            if field.nullable || field.hasDefaultValue, let nulls = MilvusFieldData.nulls(field.name, type: field.type, rows: rows) {
                columns.append(nulls)
                continue
            }
            throw .invalidArgument("missing field '\(field.name)'")
        }
        return columns
    }

    private static func column(name: String, values: FieldValues, field: FieldInfo) throws(VectorDBError) -> MilvusFieldData {
        func mismatch() -> VectorDBError {
            .invalidArgument("field '\(name)' is \(field.type.typeName): send its values as "
                + "\(field.type.columnKind), not \(values.columnKind)")
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
        case (.sparseFloatVector, .sparseVectors(let rows)):
            column = .sparseVectors(try sortedSparse(rows, column: name))
        case (.bool, .bools), (.int32, .int32s), (.int64, .int64s), (.float, .floats), (.double, .doubles):
            column = values
        case (.json, .json(let documents)):
            // Milvus would answer "IO failed: invalid character ..." without saying where.
            for (row, document) in documents.enumerated() {
                do {
                    _ = try JSONValue(parsing: document)
                } catch {
                    throw .invalidArgument("column '\(name)' row \(row) is not valid JSON: \(error)")
                }
            }
            column = values
        case (.int8, .int32s(let values)), (.int16, .int32s(let values)):
            try checkRange(values, of: field)
            column = .int32s(values)
        case (.int8, .int64s(let values)), (.int16, .int64s(let values)), (.int32, .int64s(let values)):
            try checkRange(values, of: field)
            column = .int32s(values.map { Int32(truncatingIfNeeded: $0) })
        case (.int64, .int32s(let values)): column = .int64s(values.map(Int64.init))
        case (.float, .doubles(let values)):
            // Precision may go (a FLOAT holds about 7 digits); magnitude may not.
            if let row = values.firstIndex(where: { $0.isFinite && !Float($0).isFinite }) {
                throw .invalidArgument("column '\(name)' row \(row): \(values[row]) is outside FLOAT's range (about ±3.4e38)")
            }
            column = .floats(values.map(Float.init))
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

    /// Sparse vectors by ascending index, as Milvus wants them; rows that are not sparse vectors
    /// are refused, naming the row.
    static func sortedSparse(_ rows: [SparseVector], column: String) throws(VectorDBError) -> [SparseVector] {
        var sorted: [SparseVector] = []
        sorted.reserveCapacity(rows.count)
        for (row, vector) in rows.enumerated() {
            switch vector.sorted() {
            case .success(let vector): sorted.append(vector)
            case .failure(let problem): throw .invalidArgument("\(column) row \(row): \(problem)")
            }
        }
        return sorted
    }

    /// Integers bound for an INT8, INT16 or INT32 field must fit it: Milvus would store them cut.
    private static func checkRange<Value: BinaryInteger>(_ values: [Value], of field: FieldInfo) throws(VectorDBError) {
        let range: ClosedRange<Int64>
        switch field.type {
        case .int8: range = Int64(Int8.min)...Int64(Int8.max)
        case .int16: range = Int64(Int16.min)...Int64(Int16.max)
        case .int32: range = Int64(Int32.min)...Int64(Int32.max)
        default: return
        }
        if let row = values.firstIndex(where: { !range.contains(Int64($0)) }) {
            throw .invalidArgument("column '\(field.name)' row \(row): \(values[row]) is outside \(field.type.typeName)'s range \(range.lowerBound)...\(range.upperBound)")
        }
    }

    /// What to ask Milvus for when a caller names `requested` output fields (every field when
    /// empty), and which of them are dynamic fields to unpack from `$meta`. A name the collection
    /// does not have is an error, unless the collection takes dynamic fields.
    static func outputFields(_ requested: [String], schema: CollectionSchemaInfo) throws(VectorDBError)
        -> (milvus: [String], dynamic: [String], keepMeta: Bool) {
        guard !requested.isEmpty else {
            let all = schema.fields.map(\.name)
            return schema.dynamicFields ? (all + [DynamicFields.metaField], [], true) : (all, [], false)
        }
        var dynamic: [String] = []
        var keepMeta = false
        for name in requested where schema.field(name) == nil {
            guard schema.dynamicFields else {
                throw .invalidArgument("collection '\(schema.name)' has no field '\(name)' (named in output_fields)")
            }
            if name == DynamicFields.metaField { keepMeta = true } else { dynamic.append(name) }
        }
        return (requested, dynamic, keepMeta)
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
            return "\(field) in [\(values.map(quoted).joined(separator: ", "))]"
        }
    }

    /// A string literal of Milvus's expression language: quoted, `"` and `\` escaped.
    static func quoted(_ value: String) -> String {
        var escaped = ""
        for character in value {
            if character == "\"" || character == "\\" { escaped.append("\\") }
            escaped.append(character)
        }
        return "\"\(escaped)\""
    }
}

// The names of the API's `Column` value kinds, for messages that say which one a field takes.
extension FieldType {
    /// Milvus's name of the type, for messages.
    fileprivate var typeName: String {
        switch self {
        case .bool: "BOOL"
        case .int8: "INT8"
        case .int16: "INT16"
        case .int32: "INT32"
        case .int64: "INT64"
        case .float: "FLOAT"
        case .double: "DOUBLE"
        case .varchar: "VARCHAR"
        case .json: "JSON"
        case .floatVector: "FLOAT_VECTOR"
        case .sparseFloatVector: "SPARSE_FLOAT_VECTOR"
        case .other(let number): "type \(number)"
        }
    }

    fileprivate var columnKind: String {
        switch self {
        case .bool: "bools"
        case .int8, .int16, .int32: "int32s (or int64s)"
        case .int64: "int64s (or int32s)"
        case .float: "floats (or doubles)"
        case .double: "doubles (or floats)"
        case .varchar: "strings"
        case .json: "json"
        case .floatVector: "vectors (packed, with their dimension)"
        case .sparseFloatVector: "sparse_vectors"
        case .other: "a kind vdbm cannot write yet"
        }
    }
}

extension FieldValues {
    fileprivate var columnKind: String {
        switch self {
        case .bools: "bools"
        case .int32s: "int32s"
        case .int64s: "int64s"
        case .floats: "floats"
        case .doubles: "doubles"
        case .strings: "strings"
        case .json: "json"
        case .floatVectors: "vectors"
        case .sparseVectors: "sparse_vectors"
        }
    }
}
