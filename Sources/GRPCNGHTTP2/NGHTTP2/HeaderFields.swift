import CNGHTTP2

/// An ordered list of HTTP/2 header fields, stored in one byte buffer so that handing them to
/// nghttp2 (which copies them during `submit`) costs two allocations, not two per field.
public struct HeaderFields: Sendable, Hashable {
    private var bytes: [UInt8] = []
    private var spans: [Span] = []

    private struct Span: Sendable, Hashable {
        var nameStart: Int
        var nameLength: Int
        var valueLength: Int
        var indexed: Bool
    }

    public init() {}

    public init(_ fields: [(String, String)]) {
        for (name, value) in fields { add(name, value) }
    }

    /// Appends a field; `name` must already be lower-case (HTTP/2 requires it). `indexed: false`
    /// keeps it out of HPACK's dynamic table: for a value that differs on every message (a request
    /// id), indexing would only evict useful entries.
    public mutating func add(_ name: String, _ value: String, indexed: Bool = true) {
        let start = bytes.count
        bytes.append(contentsOf: name.utf8)
        bytes.append(contentsOf: value.utf8)
        spans.append(Span(nameStart: start, nameLength: name.utf8.count, valueLength: value.utf8.count,
                          indexed: indexed))
    }

    public var count: Int { spans.count }

    /// The fields as strings, for tests and logs.
    public var pairs: [(name: String, value: String)] {
        spans.map { span in
            let valueStart = span.nameStart + span.nameLength
            return (String(decoding: bytes[span.nameStart..<valueStart], as: UTF8.self),
                    String(decoding: bytes[valueStart..<(valueStart + span.valueLength)], as: UTF8.self))
        }
    }

    /// Calls `body` with an `nghttp2_nv` array that points into this list; valid only during the call.
    func withNameValueArray<Result>(_ body: (UnsafePointer<nghttp2_nv>?, Int) -> Result) -> Result {
        guard !spans.isEmpty else { return body(nil, 0) }
        return bytes.withUnsafeBufferPointer { storage in
            let base = UnsafeMutablePointer(mutating: storage.baseAddress!)
            let nameValues = spans.map { span in
                nghttp2_nv(
                    name: base + span.nameStart,
                    value: base + span.nameStart + span.nameLength,
                    namelen: span.nameLength,
                    valuelen: span.valueLength,
                    flags: HeaderFields.flags(indexed: span.indexed)
                )
            }
            return nameValues.withUnsafeBufferPointer { body($0.baseAddress, $0.count) }
        }
    }

    /// The nghttp2 flags of a field, indexed or not.
    static func flags(indexed: Bool) -> UInt8 {
        UInt8(indexed ? NGHTTP2_NV_FLAG_NONE.rawValue : NGHTTP2_NV_FLAG_NO_INDEX.rawValue)
    }
}
