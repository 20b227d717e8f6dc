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
            }
        }
        return arena.message(milvus__proto__schema__collection_schema__init) { message in
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
            read.hasDefaultValue = field.pointee.default_value.len > 0
            read.isFunctionOutput = field.pointee.is_function_output != 0
            return read
        }
        return MilvusCollectionSchema(name: ProtobufC.text(schema.pointee.name),
                                      description: ProtobufC.text(schema.pointee.description),
                                      autoID: schema.pointee.autoid != 0, fields: fields,
                                      enableDynamicField: schema.pointee.enable_dynamic_field != 0)
    }

    public init(serializedBytes bytes: [UInt8]) throws(ProtobufDecodingError) {
        self = try ProtobufC.decode(bytes, messageType: "milvus.proto.schema.CollectionSchema",
                                    unpack: milvus__proto__schema__collection_schema__unpack) { MilvusCollectionSchema.read($0) }
    }
}
