import CVDBMProtos

/// `milvus.proto.schema.FieldSchema`: one field of a collection.
public struct MilvusFieldSchema: Sendable, Hashable {
    public var fieldID: Int64
    public var name: String
    public var isPrimaryKey: Bool
    public var description: String
    /// The `DataType` number (5 Int64, 21 VarChar, 101 FloatVector, ...).
    public var dataType: Int32
    /// `dim` for vectors, `max_length` for VarChar.
    public var typeParams: [MilvusKeyValue]
    public var autoID: Bool
    public var isPartitionKey: Bool
    public var nullable: Bool
    /// The field has a default value (Milvus 2.4+): a row may leave it out (sent as null).
    public var hasDefaultValue: Bool = false
    /// A function computes the field (a BM25 function's sparse output, Milvus 2.5+): rows leave
    /// it out.
    public var isFunctionOutput: Bool = false
    /// The default to send when creating the field (reading sets only `hasDefaultValue`).
    public var defaultValue: MilvusDefaultValue?

    public init(fieldID: Int64 = 0, name: String, isPrimaryKey: Bool = false, description: String = "", dataType: Int32,
                typeParams: [MilvusKeyValue] = [], autoID: Bool = false, isPartitionKey: Bool = false, nullable: Bool = false) {
        self.fieldID = fieldID
        self.name = name
        self.isPrimaryKey = isPrimaryKey
        self.description = description
        self.dataType = dataType
        self.typeParams = typeParams
        self.autoID = autoID
        self.isPartitionKey = isPartitionKey
        self.nullable = nullable
    }
}

/// `milvus.proto.schema.CollectionSchema`.
public struct MilvusCollectionSchema: Sendable, Hashable {
    public var name: String
    public var description: String
    public var autoID: Bool
    public var fields: [MilvusFieldSchema]
    public var enableDynamicField: Bool
    public var functions: [MilvusFunctionSchema] = []

    public init(name: String, description: String = "", autoID: Bool = false, fields: [MilvusFieldSchema],
                enableDynamicField: Bool = false) {
        self.name = name
        self.description = description
        self.autoID = autoID
        self.fields = fields
        self.enableDynamicField = enableDynamicField
    }

    public func serializedBytes() -> [UInt8] {
        ProtobufC.pack { build(in: $0) }
    }

    func build(in arena: ProtobufCArena) -> UnsafeMutablePointer<Milvus__Proto__Schema__CollectionSchema> {
        let fieldMessages = fields.map { field in
            arena.message(milvus__proto__schema__field_schema__init) { message in
                message.fieldid = field.fieldID
                message.name = arena.string(field.name)
                message.is_primary_key = field.isPrimaryKey ? 1 : 0
                message.description = arena.string(field.description)
                message.data_type = field.dataType
                (message.n_type_params, message.type_params) = MilvusKeyValue.build(field.typeParams, in: arena)
                message.autoid = field.autoID ? 1 : 0
                message.is_partition_key = field.isPartitionKey ? 1 : 0
                message.nullable = field.nullable ? 1 : 0
                message.is_function_output = field.isFunctionOutput ? 1 : 0
                if let value = field.defaultValue { message.default_value = value.build(in: arena) }
            }
        }
        let functionMessages = functions.map { $0.build(in: arena) }
        return arena.message(milvus__proto__schema__collection_schema__init) { message in
            (message.n_functions, message.functions) = (functionMessages.count, arena.pointers(functionMessages))
            message.name = arena.string(name)
            message.description = arena.string(description)
            message.autoid = autoID ? 1 : 0
            message.n_fields = fieldMessages.count
            message.fields = arena.pointers(fieldMessages)
            message.enable_dynamic_field = enableDynamicField ? 1 : 0
        }
    }

    static func read(_ schema: UnsafePointer<Milvus__Proto__Schema__CollectionSchema>) -> MilvusCollectionSchema {
        let fields = ProtobufC.messages(schema.pointee.n_fields, schema.pointee.fields) { field in
            var read = MilvusFieldSchema(
                fieldID: field.pointee.fieldid, name: ProtobufC.text(field.pointee.name),
                isPrimaryKey: field.pointee.is_primary_key != 0, description: ProtobufC.text(field.pointee.description),
                dataType: field.pointee.data_type,
                typeParams: MilvusKeyValue.read(field.pointee.n_type_params, field.pointee.type_params),
                autoID: field.pointee.autoid != 0, isPartitionKey: field.pointee.is_partition_key != 0,
                nullable: field.pointee.nullable != 0)
            read.hasDefaultValue = field.pointee.default_value != nil
            read.isFunctionOutput = field.pointee.is_function_output != 0
            return read
        }
        var read = MilvusCollectionSchema(name: ProtobufC.text(schema.pointee.name),
                                          description: ProtobufC.text(schema.pointee.description),
                                          autoID: schema.pointee.autoid != 0, fields: fields,
                                          enableDynamicField: schema.pointee.enable_dynamic_field != 0)
        read.functions = ProtobufC.messages(schema.pointee.n_functions, schema.pointee.functions) { MilvusFunctionSchema.read($0) }
        return read
    }

    public init(serializedBytes bytes: [UInt8]) throws(ProtobufDecodingError) {
        self = try ProtobufC.decode(bytes, messageType: "milvus.proto.schema.CollectionSchema",
                                    unpack: milvus__proto__schema__collection_schema__unpack) { MilvusCollectionSchema.read($0) }
    }
}

/// `milvus.proto.schema.ValueField`, typed as the field it is the default of.
public enum MilvusDefaultValue: Sendable, Hashable {
    case bool(Bool)
    /// INT8, INT16 and INT32 fields.
    case int32(Int32)
    case int64(Int64)
    case float(Float)
    case double(Double)
    case string(String)

    func build(in arena: ProtobufCArena) -> UnsafeMutablePointer<Milvus__Proto__Schema__ValueField> {
        arena.message(milvus__proto__schema__value_field__init) { message in
            switch self {
            case .bool(let value):
                (message.data_case, message.bool_data) = (MILVUS__PROTO__SCHEMA__VALUE_FIELD__DATA_BOOL_DATA, value ? 1 : 0)
            case .int32(let value):
                (message.data_case, message.int_data) = (MILVUS__PROTO__SCHEMA__VALUE_FIELD__DATA_INT_DATA, value)
            case .int64(let value):
                (message.data_case, message.long_data) = (MILVUS__PROTO__SCHEMA__VALUE_FIELD__DATA_LONG_DATA, value)
            case .float(let value):
                (message.data_case, message.float_data) = (MILVUS__PROTO__SCHEMA__VALUE_FIELD__DATA_FLOAT_DATA, value)
            case .double(let value):
                (message.data_case, message.double_data) = (MILVUS__PROTO__SCHEMA__VALUE_FIELD__DATA_DOUBLE_DATA, value)
            case .string(let value):
                (message.data_case, message.string_data) = (MILVUS__PROTO__SCHEMA__VALUE_FIELD__DATA_STRING_DATA, arena.string(value))
            }
        }
    }
}

/// `milvus.proto.schema.FunctionSchema`: a function Milvus runs on inserted rows (BM25 is type 1).
public struct MilvusFunctionSchema: Sendable, Hashable {
    public var name: String
    public var type: Int32
    public var inputFields: [String]
    public var outputFields: [String]
    public var params: [MilvusKeyValue]

    public init(name: String, type: Int32, inputFields: [String], outputFields: [String], params: [MilvusKeyValue] = []) {
        self.name = name
        self.type = type
        self.inputFields = inputFields
        self.outputFields = outputFields
        self.params = params
    }

    func build(in arena: ProtobufCArena) -> UnsafeMutablePointer<Milvus__Proto__Schema__FunctionSchema> {
        arena.message(milvus__proto__schema__function_schema__init) { message in
            message.name = arena.string(name)
            message.type = type
            (message.n_input_field_names, message.input_field_names) = (inputFields.count, arena.strings(inputFields))
            (message.n_output_field_names, message.output_field_names) = (outputFields.count, arena.strings(outputFields))
            (message.n_params, message.params) = MilvusKeyValue.build(params, in: arena)
        }
    }

    static func read(_ function: UnsafePointer<Milvus__Proto__Schema__FunctionSchema>) -> MilvusFunctionSchema {
        let f = function.pointee
        return MilvusFunctionSchema(name: ProtobufC.text(f.name), type: f.type,
                                    inputFields: ProtobufC.texts(f.n_input_field_names, f.input_field_names),
                                    outputFields: ProtobufC.texts(f.n_output_field_names, f.output_field_names),
                                    params: MilvusKeyValue.read(f.n_params, f.params))
    }
}
