/// A configuration that cannot be used, naming the key and where its value came from.
public enum ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadableFile(path: String, reason: String)
    case invalidYAML(path: String, reason: String)
    case unknownKey(key: String, source: String)
    /// A `VDBM_*` variable that names no key (a typo would otherwise be ignored in silence).
    case unknownEnvironmentVariable(name: String, suggestion: String?)
    case invalidValue(key: String, value: String, expected: String, source: String)
    case malformedOverride(String)

    public var description: String {
        switch self {
        case .unreadableFile(let path, let reason):
            "cannot read configuration file \(path): \(reason)"
        case .invalidYAML(let path, let reason):
            "configuration file \(path) is not valid YAML: \(reason)"
        case .unknownKey(let key, let source):
            "unknown configuration key '\(key)' (from \(source))"
        case .unknownEnvironmentVariable(let name, let suggestion):
            "unknown environment variable \(name): every VDBM_ variable must name a configuration key"
                + (suggestion.map { " (did you mean \($0)?)" } ?? "")
        case .invalidValue(let key, let value, let expected, let source):
            "invalid value '\(value)' for configuration key '\(key)' (from \(source)): expected \(expected)"
        case .malformedOverride(let text):
            "malformed --set '\(text)': expected key=value"
        }
    }
}
