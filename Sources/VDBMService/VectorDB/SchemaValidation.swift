import GRPCNGHTTP2
import VDBMDomain
import VDBMProtobuf

/// The checks of a new collection's extra parts: scalar field options, more vector fields and
/// functions. (Whether fields named by functions exist is checked with the whole schema, in the
/// manager.)
extension RequestValidation {
    func scalarOptions(_ field: VDBMv1.ScalarField, type: ScalarType) throws(GRPCStatus) -> ScalarFieldSpec {
        if let problem = Names.nulProblem(in: field.analyzerParams, what: "scalar field '\(field.name)' analyzer_params") {
            throw invalid(problem)
        }
        if case .string(let text)? = field.defaultValue, let problem = Names.nulProblem(in: text, what: "default_value") {
            throw invalid(problem)
        }
        if case .double(let number)? = field.defaultValue, !number.isFinite {
            throw invalid("scalar field '\(field.name)': default_value \(number) is not finite")
        }
        return ScalarFieldSpec(name: field.name, type: type, nullable: field.nullable, enableAnalyzer: field.enableAnalyzer,
                               analyzerParams: field.analyzerParams.isEmpty ? nil : field.analyzerParams,
                               enableMatch: field.enableMatch, isPartitionKey: field.partitionKey, defaultValue: field.defaultValue)
    }

    func vectorField(_ field: VDBMv1.VectorField) throws(GRPCStatus) -> VectorFieldSpec {
        try name(field.name, kind: "vector_fields name")
        let kind: VectorFieldSpec.Kind
        switch field.type {
        case 0:
            guard (1...32_768).contains(field.dimension) else {
                throw invalid("vector field '\(field.name)': dimension \(field.dimension) is outside 1...32768")
            }
            kind = .float(dimension: field.dimension)
        case 1:
            guard field.dimension == 0 else { throw invalid("vector field '\(field.name)': a sparse field has no dimension") }
            kind = .sparse
        default: throw invalid("vector field '\(field.name)' has unknown type \(field.type)")
        }
        let metric: MetricType?
        switch VDBMv1.metric(field.metric) {
        case .unspecified: metric = nil
        case .value(let value): metric = value
        case .unknown(let number): throw invalid("vector field '\(field.name)': metric \(number) is not a known Metric")
        }
        return VectorFieldSpec(name: field.name, kind: kind, metric: metric,
                               index: try field.index.map { (spec) throws(GRPCStatus) in try index(spec) })
    }

    func function(_ function: VDBMv1.Function) throws(GRPCStatus) -> FunctionSpec {
        try name(function.name, kind: "function name")
        guard let type = FunctionSpec.Kind(rawValue: function.type) else {
            throw invalid("function '\(function.name)' has " + (function.type == 0 ? "no type" : "unknown type \(function.type)"))
        }
        try names(function.inputFields, kind: "function input field")
        try names(function.outputFields, kind: "function output field")
        return FunctionSpec(name: function.name, type: type, inputFields: function.inputFields, outputFields: function.outputFields)
    }
}
