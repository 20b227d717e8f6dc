/// The value of an index or search parameter: Milvus takes them as one JSON object
/// (`{"ef": 64}`, `{"radius": 0.8, "range_filter": 0.95}`), so each is a JSON scalar.
public enum ParamValue: Sendable, Hashable, CustomStringConvertible {
    case int(Int)
    /// Finite (validated where requests are read): JSON has no NaN or infinity.
    case double(Double)
    case string(String)

    public var description: String { json }

    /// The value as JSON text.
    public var json: String {
        switch self {
        case .int(let value): "\(value)"
        case .double(let value): value.isFinite ? "\(value)" : "null"
        case .string(let value): JSONValue.string(value).text
        }
    }
}

extension ParamValue: ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByStringLiteral {
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
}
