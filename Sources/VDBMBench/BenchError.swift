/// Why a bench run cannot start.
public enum BenchError: Error, Sendable, Hashable, CustomStringConvertible {
    case badVectors(String)
    case cannotConnect(String)

    public var description: String {
        switch self {
        case .badVectors(let reason): "query vectors: \(reason)"
        case .cannotConnect(let reason): "cannot connect: \(reason)"
        }
    }
}
