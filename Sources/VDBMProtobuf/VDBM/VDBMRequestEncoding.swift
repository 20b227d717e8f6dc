import CVDBMProtos
import VDBMDomain

/// Encoders for the requests a client sends (`vdbm bench`, tests): the other side of the decoders.
extension VDBMv1 {
    /// A `vdbm.v1.SearchRequest`.
    public static func encodeSearch(collection: String, vectors: [Float], dimension: Int, limit: Int, filter: String = "",
                                    outputFields: [String] = [], params: [(key: String, value: Int64)] = []) -> [UInt8] {
        ProtobufC.pack { arena in
            arena.message(vdbm__v1__search_request__init) { message in
                message.collection = arena.string(collection)
                message.vectors = arena.message(vdbm__v1__float_vectors__init) { packed in
                    packed.dimension = UInt32(clamping: dimension)
                    (packed.n_values, packed.values) = (vectors.count, arena.array(vectors))
                }
                message.limit = UInt32(clamping: limit)
                message.filter = arena.string(filter)
                (message.n_output_fields, message.output_fields) = (outputFields.count, arena.strings(outputFields))
                let built = params.map { param in
                    arena.message(vdbm__v1__param__init) { built in
                        built.key = arena.string(param.key)
                        built.kind_case = VDBM__V1__PARAM__KIND_VALUE
                        built.value = param.value
                    }
                }
                (message.n_params, message.params) = (built.count, arena.pointers(built))
            }
        }
    }

    /// A `vdbm.v1.WriteRequest` (what `Insert` and `Upsert` take) with these columns.
    public static func encodeInsert(collection: String, columns: [(name: String, values: FieldValues)]) -> [UInt8] {
        ProtobufC.pack { arena in
            arena.message(vdbm__v1__write_request__init) { message in
                message.collection = arena.string(collection)
                let built = columns.map { VDBMColumns.build(name: $0.name, values: $0.values, in: arena) }
                (message.n_columns, message.columns) = (built.count, arena.pointers(built))
            }
        }
    }
}
