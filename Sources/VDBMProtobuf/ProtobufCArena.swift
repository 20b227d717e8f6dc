import CProtobufC

/// Memory for one protobuf-c message tree while it is built and packed: C strings, arrays and
/// nested messages are allocated here and all freed together when the arena goes away, so no
/// pointer outlives the pack that needed it.
final class ProtobufCArena {
    private var allocations: [UnsafeMutableRawPointer] = []

    deinit {
        for allocation in allocations { allocation.deallocate() }
    }

    /// A copy of `text`'s UTF-8 bytes, as a string field (generated as `bytes`; scripts/gen-protos):
    /// every byte, an embedded NUL too, and no terminator.
    func string(_ text: String) -> ProtobufCBinaryData {
        var text = text
        return text.withUTF8 { utf8 in
            guard let base = utf8.baseAddress, !utf8.isEmpty else { return ProtobufCBinaryData(len: 0, data: nil) }
            let pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: utf8.count)
            pointer.initialize(from: base, count: utf8.count)
            allocations.append(UnsafeMutableRawPointer(pointer))
            return ProtobufCBinaryData(len: utf8.count, data: pointer)
        }
    }

    /// A copy of `values` (nil when empty, as protobuf-c expects for a repeated field of length 0).
    func array<Element>(_ values: [Element]) -> UnsafeMutablePointer<Element>? {
        guard !values.isEmpty else { return nil }
        let pointer = UnsafeMutablePointer<Element>.allocate(capacity: values.count)
        values.withUnsafeBufferPointer { pointer.initialize(from: $0.baseAddress!, count: $0.count) }
        allocations.append(UnsafeMutableRawPointer(pointer))
        return pointer
    }

    /// A repeated string field.
    func strings(_ values: [String]) -> UnsafeMutablePointer<ProtobufCBinaryData>? {
        array(values.map(string))
    }

    /// An array of pointers to messages built in this arena.
    func pointers<Message>(_ messages: [UnsafeMutablePointer<Message>]) -> UnsafeMutablePointer<UnsafeMutablePointer<Message>?>? {
        array(messages.map { Optional($0) })
    }

    /// Bytes as protobuf-c's `bytes` value.
    func binary(_ bytes: [UInt8]) -> ProtobufCBinaryData {
        ProtobufCBinaryData(len: bytes.count, data: array(bytes))
    }

    /// A copy of a message (its pointers still lead where the original's do).
    func copy<Message>(_ message: Message) -> UnsafeMutablePointer<Message> {
        let pointer = UnsafeMutablePointer<Message>.allocate(capacity: 1)
        allocations.append(UnsafeMutableRawPointer(pointer))
        pointer.initialize(to: message)
        return pointer
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
