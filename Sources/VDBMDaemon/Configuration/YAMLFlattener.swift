import Yams

/// Turns a YAML document of nested mappings into dotted keys (`server: {port: 1}` -> `server.port`).
enum YAMLFlattener {
    static func flatten(_ text: String, path: String) throws(ConfigurationError) -> [String: String] {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw .invalidYAML(path: path, reason: "\(error)")
        }
        guard let root else { return [:] }  // an empty file
        var result: [String: String] = [:]
        try walk(root, prefix: "", path: path, into: &result)
        return result
    }

    private static func walk(_ node: Node, prefix: String, path: String,
                             into result: inout [String: String]) throws(ConfigurationError) {
        switch node {
        case .mapping(let mapping):
            for (keyNode, valueNode) in mapping {
                guard let key = keyNode.string else {
                    throw .invalidYAML(path: path, reason: "a key under '\(prefix)' is not a string")
                }
                try walk(valueNode, prefix: prefix.isEmpty ? key : "\(prefix).\(key)", path: path, into: &result)
            }
        case .scalar(let scalar):
            guard !prefix.isEmpty else { throw .invalidYAML(path: path, reason: "the top level must be a mapping") }
            // `~` and `null` mean "not set": the default applies.
            if scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string) {
                return
            }
            result[prefix] = scalar.string
        case .sequence:
            throw .invalidValue(key: prefix, value: "a list", expected: "a single value", source: path)
        case .alias:
            throw .invalidYAML(path: path, reason: "aliases are not supported (at '\(prefix)')")
        }
    }
}
