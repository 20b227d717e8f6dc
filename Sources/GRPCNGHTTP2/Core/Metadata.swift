/// Custom request metadata: the HTTP/2 headers of a call that are not pseudo-headers or
/// reserved by the gRPC protocol. Keys are lower-case; a `-bin` key's value is the raw bytes
/// (base64-decoded from the wire), any other value is text.
public struct Metadata: Sendable, Hashable {
    public enum Value: Sendable, Hashable {
        case text(String)
        case binary([UInt8])
    }

    public private(set) var entries: [(key: String, value: Value)] = []

    public init() {}

    public init(_ entries: [(key: String, value: Value)]) {
        self.entries = entries
    }

    public mutating func append(_ key: String, _ value: Value) {
        entries.append((key.lowercased(), value))
    }

    /// The first text value for `key`.
    public subscript(text key: String) -> String? {
        for entry in entries where entry.key == key {
            if case .text(let text) = entry.value { return text }
        }
        return nil
    }

    public var isEmpty: Bool { entries.isEmpty }

    public static func == (lhs: Metadata, rhs: Metadata) -> Bool {
        lhs.entries.elementsEqual(rhs.entries) { $0.key == $1.key && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        for entry in entries {
            hasher.combine(entry.key)
            hasher.combine(entry.value)
        }
    }
}
