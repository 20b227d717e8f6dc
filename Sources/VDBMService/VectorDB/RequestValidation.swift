import GRPCNGHTTP2
import VDBMDomain
import VDBMProtobuf

/// Turns decoded `vdbm.v1` requests into the manager's domain values, checking everything that
/// can be checked without Milvus. Every problem is INVALID_ARGUMENT with a message that names the
/// field. (Checks that need the collection's schema, such as the vector dimension, happen in the
/// manager against its cached schema.)
struct RequestValidation {
    let limits: RequestLimits

    func invalid(_ message: String) -> GRPCStatus { GRPCStatus(.invalidArgument, message) }

    func name(_ name: String, kind: String) throws(GRPCStatus) {
        if let problem = Names.problem(with: name, kind: kind) { throw invalid(problem) }
    }

    func names(_ names: [String], kind: String) throws(GRPCStatus) {
        for name in names { try self.name(name, kind: kind) }
    }

    func filter(_ filter: String) throws(GRPCStatus) {
        if let problem = Names.nulProblem(in: filter, what: "filter") { throw invalid(problem) }
        let bytes = filter.utf8.count
        if bytes > limits.maxFilterBytes {
            throw invalid("filter is \(bytes) bytes; at most \(limits.maxFilterBytes) are allowed")
        }
    }

    /// Names in `output_fields`: not empty, no NUL. (Whether the collection has them is checked
    /// against its schema in the manager.)
    func outputFields(_ fields: [String]) throws(GRPCStatus) {
        for field in fields {
            if field.isEmpty { throw invalid("output_fields has an empty name") }
            if let problem = Names.nulProblem(in: field, what: "output_fields name") { throw invalid(problem) }
        }
    }

    func finite(_ values: [Float], what: String) throws(GRPCStatus) {
        if let index = values.firstIndex(where: { !$0.isFinite }) {
            throw invalid("\(what) has a NaN or infinite component at position \(index)")
        }
    }

    func consistency(_ number: Int32) throws(GRPCStatus) -> ConsistencyLevel? {
        switch VDBMv1.consistency(number) {
        case .unspecified: return nil
        case .value(let level): return level
        case .unknown(let number): throw invalid("consistency \(number) is not a known ConsistencyLevel")
        }
    }

    func metric(_ number: Int32) throws(GRPCStatus) -> MetricType {
        switch VDBMv1.metric(number) {
        case .unspecified: return .l2
        case .value(let metric): return metric
        case .unknown(let number): throw invalid("metric \(number) is not a known Metric")
        }
    }

    func index(_ spec: VDBMv1.IndexSpec) throws(GRPCStatus) -> IndexSpec {
        guard !spec.type.isEmpty else { throw invalid("index.type is empty (e.g. HNSW, IVF_FLAT, FLAT, AUTOINDEX)") }
        if let problem = Names.nulProblem(in: spec.type, what: "index.type") { throw invalid(problem) }
        return IndexSpec(type: spec.type, params: try params(spec.params, what: "index.params"))
    }

    func params(_ params: [VDBMv1.Param], what: String) throws(GRPCStatus) -> [String: ParamValue] {
        var result: [String: ParamValue] = [:]
        for param in params {
            try name(param.key, kind: "\(what) key")
            switch param.value {
            case .double(let number) where !number.isFinite:
                throw invalid("\(what) '\(param.key)' is \(number); a number must be finite")
            case .string(let text):
                if let problem = Names.nulProblem(in: text, what: "\(what) '\(param.key)'") { throw invalid(problem) }
            default: break
            }
            guard result.updateValue(param.value, forKey: param.key) == nil else {
                throw invalid("\(what) has '\(param.key)' twice")
            }
        }
        return result
    }

    /// Exactly one kind of key, at least one, at most a batch.
    func keys(_ keys: VDBMv1.Keys, what: String) throws(GRPCStatus) -> PrimaryKeys {
        switch (keys.ints.isEmpty, keys.strings.isEmpty) {
        case (true, true): throw invalid("\(what) is empty")
        case (false, false): throw invalid("\(what) has both int_ids and string_ids; send one kind")
        case (false, true):
            guard keys.ints.count <= limits.maxBatchRows else { throw tooMany(keys.ints.count, what) }
            return .int64s(keys.ints)
        case (true, false):
            guard keys.strings.count <= limits.maxBatchRows else { throw tooMany(keys.strings.count, what) }
            return .strings(keys.strings)
        }
    }

    private func tooMany(_ count: Int, _ what: String) -> GRPCStatus {
        invalid("\(what) has \(count) entries; at most \(limits.maxBatchRows) per call")
    }

    // MARK: Requests

    func createCollection(_ request: VDBMv1.CreateCollection) throws(GRPCStatus) -> CollectionSpec {
        try name(request.collection, kind: "collection")
        // 0 with vector_fields: the collection has only those.
        guard (1...32_768).contains(request.dimension) || (request.dimension == 0 && !request.vectorFields.isEmpty) else {
            throw invalid("dimension \(request.dimension) is outside 1...32768")
        }
        let primaryKey: PrimaryKeySpec
        if request.stringPrimaryKey {
            guard !request.autoID else { throw invalid("auto_id needs an INT64 primary key (string_primary_key is set)") }
            let maxLength = request.maxKeyLength == 0 ? 64 : request.maxKeyLength
            guard maxLength <= 65_535 else { throw invalid("max_key_length \(maxLength) is above 65535") }
            primaryKey = .string(maxLength: maxLength)
        } else {
            primaryKey = .int64(autoID: request.autoID)
        }
        let keyField = request.primaryKeyField.isEmpty ? "id" : request.primaryKeyField
        let vectorField = request.vectorField.isEmpty ? "vector" : request.vectorField
        try name(keyField, kind: "primary_key_field")
        try name(vectorField, kind: "vector_field")
        var scalars: [ScalarFieldSpec] = []
        if !request.stringPrimaryKey && request.maxKeyLength != 0 {
            throw invalid("max_key_length is for a string primary key; the key is INT64 (set string_primary_key, or leave it 0)")
        }
        for field in request.scalarFields {
            try name(field.name, kind: "field")
            let type: ScalarType
            switch VDBMv1.scalarType(field.type, maxLength: field.maxLength) {
            case .unspecified: throw invalid("scalar field '\(field.name)' has no type")
            case .unknown(let number): throw invalid("scalar field '\(field.name)' has unknown type \(number)")
            case .value(.string(let maxLength)):
                guard (1...65_535).contains(maxLength) else {
                    throw invalid("string field '\(field.name)' needs max_length from 1 to 65535")
                }
                type = .string(maxLength: maxLength)
            case .value(let other):
                // Milvus would accept max_length on another type and ignore it.
                guard field.maxLength == 0 else {
                    throw invalid("scalar field '\(field.name)': max_length is for STRING fields only")
                }
                type = other
            }
            scalars.append(try scalarOptions(field, type: type))
        }
        let index = try request.index.map { (spec) throws(GRPCStatus) in try self.index(spec) }
        if request.load && index == nil && request.dimension != 0 { throw invalid("load needs an index: set index, or leave load off") }
        if request.dimension == 0 && (index != nil || request.metric != 0) {
            throw invalid("index and metric are for the quick-setup vector field; with dimension 0 there is none "
                          + "(give each of vector_fields its own)")
        }
        var spec = CollectionSpec(name: request.collection, dimension: request.dimension, metric: try metric(request.metric),
                                  primaryKey: primaryKey, primaryKeyField: keyField, vectorField: vectorField,
                                  scalarFields: scalars, description: request.description,
                                  enableDynamicFields: request.enableDynamicFields,
                                  consistency: try consistency(request.consistency) ?? .session, index: index, load: request.load)
        spec.vectorFields = try request.vectorFields.map { (field) throws(GRPCStatus) in try self.vectorField(field) }
        spec.functions = try request.functions.map { (function) throws(GRPCStatus) in try self.function(function) }
        guard request.partitionCount <= 4096 else { throw invalid("partition_count \(request.partitionCount) is above 4096") }
        spec.partitionCount = request.partitionCount == 0 ? nil : request.partitionCount
        return spec
    }

    func write(_ request: VDBMv1.Write) throws(GRPCStatus) -> Entities {
        try name(request.collection, kind: "collection")
        if !request.partition.isEmpty { try name(request.partition, kind: "partition") }
        guard !request.columns.isEmpty else { throw invalid("columns is empty: nothing to write") }
        var columns: [String: FieldValues] = [:]
        var rows: Int?
        for column in request.columns {
            // `$meta` is Milvus's column of dynamic fields, which a caller may send as JSON objects.
            if column.name != "$meta" { try name(column.name, kind: "column") }
            guard let values = column.values else { throw invalid("column '\(column.name)' has no values") }
            if case .floatVectors(let dimension, let floats) = values {
                guard dimension > 0, floats.count % dimension == 0 else {
                    throw invalid("column '\(column.name)': \(floats.count) floats is not a whole number of \(dimension)-dimensional vectors")
                }
                try finite(floats, what: "column '\(column.name)'")
            }
            guard columns.updateValue(values, forKey: column.name) == nil else {
                throw invalid("column '\(column.name)' is given twice")
            }
            // Equal row counts are checked in the manager, against the schema: a column of the wrong
            // kind (floats for a vector field) is reported as that, not as a row count.
            rows = max(rows ?? 0, values.count)
        }
        guard let rows, rows > 0 else { throw invalid("the columns hold no rows") }
        guard rows <= limits.maxBatchRows else {
            throw invalid("\(rows) rows in one call; at most \(limits.maxBatchRows) (split the batch)")
        }
        return Entities(columns)
    }

    func query(_ request: VDBMv1.Query) throws(GRPCStatus) -> (limit: Int?, consistency: ConsistencyLevel?) {
        try name(request.collection, kind: "collection")
        try filter(request.filter)
        if request.filter.allSatisfy(\.isWhitespace) && request.limit == 0 {
            throw invalid("a query needs a filter or a limit")
        }
        if request.limit == 0 && request.offset > 0 { throw invalid("offset needs a limit") }
        if request.limit > 0, let problem = ResultWindow.problem("limit", count: request.limit, offset: request.offset) {
            throw invalid(problem)
        }
        if !request.partitions.isEmpty { try names(request.partitions, kind: "partition") }
        try outputFields(request.outputFields)
        return (request.limit == 0 ? nil : request.limit, try consistency(request.consistency))
    }

    /// An export's page size (0 means 1000) and consistency.
    func export(_ request: VDBMv1.Export) throws(GRPCStatus) -> (pageSize: Int, consistency: ConsistencyLevel?) {
        try name(request.collection, kind: "collection")
        try filter(request.filter)
        let pageSize = request.pageSize == 0 ? 1000 : request.pageSize
        if let problem = ResultWindow.problem("page_size", count: pageSize) { throw invalid(problem) }
        if !request.partitions.isEmpty { try names(request.partitions, kind: "partition") }
        try outputFields(request.outputFields)
        return (pageSize, try consistency(request.consistency))
    }
}
