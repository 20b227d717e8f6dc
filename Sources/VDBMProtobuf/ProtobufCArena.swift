import CProtobufC

/// Memory for one protobuf-c message tree while it is built and packed: C strings, arrays and
/// nested messages are allocated here and all freed together when the arena goes away, so no
/// pointer outlives the pack that needed it.
final class ProtobufCArena {
    private var allocations: [UnsafeMutableRawPointer] = []

    deinit {
        for allocation in allocations { allocation.deallocate() }
    }

    /// A NUL-terminated copy of `text`.
    func string(_ text: String) -> UnsafeMutablePointer<CChar> {
        let bytes = text.utf8CString
        let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count)
        bytes.withUnsafeBufferPointer { pointer.initialize(from: $0.baseAddress!, count: $0.count) }
        allocations.append(UnsafeMutableRawPointer(pointer))
        return pointer
    }

    /// A copy of `values` (nil when empty, as protobuf-c expects for a repeated field of length 0).
    func array<Element>(_ values: [Element]) -> UnsafeMutablePointer<Element>? {
        guard !values.isEmpty else { return nil }
        let pointer = UnsafeMutablePointer<Element>.allocate(capacity: values.count)
        values.withUnsafeBufferPointer { pointer.initialize(from: $0.baseAddress!, count: $0.count) }
        allocations.append(UnsafeMutableRawPointer(pointer))
        return pointer
    }

    /// An array of C strings.
    func strings(_ values: [String]) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
        array(values.map { Optional(string($0)) })
    }

    /// An array of pointers to messages built in this arena.
    func pointers<Message>(_ messages: [UnsafeMutablePointer<Message>]) -> UnsafeMutablePointer<UnsafeMutablePointer<Message>?>? {
        array(messages.map { Optional($0) })
    }

    /// Bytes as protobuf-c's `bytes` value.
    func binary(_ bytes: [UInt8]) -> ProtobufCBinaryData {
        ProtobufCBinaryData(len: bytes.count, data: array(bytes))
    }

    /// A new message, set up by its generated `__init` function and then by `configure`.
    func message<Message>(_ initialize: (UnsafeMutablePointer<Message>) -> Void,
                          _ configure: (inout Message) -> Void = { _ in }) -> UnsafeMutablePointer<Message> {
        let pointer = UnsafeMutablePointer<Message>.allocate(capacity: 1)
        allocations.append(UnsafeMutableRawPointer(pointer))
        initialize(pointer)
        configure(&pointer.pointee)
        return pointer
    }
}
