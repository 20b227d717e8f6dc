import CProtobufC

/// Bytes that are not a valid serialization of the expected message.
public struct ProtobufDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The message type that was expected, e.g. `grpc.health.v1.HealthCheckRequest`.
    public let messageType: String

    public var description: String { "request is not a valid \(messageType) message" }
}

/// The generic part of every protobuf-c pack and unpack: buffers in, buffers out, memory freed.
/// Nothing outside this module sees a protobuf-c pointer.
enum ProtobufC {
    /// The signature protoc-c gives every `<message>__unpack` function.
    typealias Unpack<Message> = (UnsafeMutablePointer<ProtobufCAllocator>?, Int, UnsafePointer<UInt8>?)
        -> UnsafeMutablePointer<Message>?

    /// Unpacks `bytes` with a generated `unpack`, hands the C message to `read` (which copies what
    /// it needs into Swift values), then frees it.
    static func decode<Message, Result>(
        _ bytes: [UInt8], messageType: String, unpack: Unpack<Message>,
        read: (UnsafePointer<Message>) -> Result
    ) throws(ProtobufDecodingError) -> Result {
        let unpacked: UnsafeMutablePointer<Message>? = bytes.withUnsafeBufferPointer { buffer in
            // protobuf-c reads nothing when the length is 0, but wants a non-null pointer.
            var empty: UInt8 = 0
            return unpack(nil, buffer.count, buffer.baseAddress ?? withUnsafePointer(to: &empty) { $0 })
        }
        guard let unpacked else { throw ProtobufDecodingError(messageType: messageType) }
        defer {
            unpacked.withMemoryRebound(to: ProtobufCMessage.self, capacity: 1) {
                protobuf_c_message_free_unpacked($0, nil)
            }
        }
        return read(unpacked)
    }

    /// Packs a C message (initialised by its generated `__init`) into bytes.
    static func encode<Message>(_ message: inout Message) -> [UInt8] {
        withUnsafeMutablePointer(to: &message) { encode(pointer: $0) }
    }

    static func encode<Message>(pointer: UnsafeMutablePointer<Message>) -> [UInt8] {
        pointer.withMemoryRebound(to: ProtobufCMessage.self, capacity: 1) { base in
            let size = protobuf_c_message_get_packed_size(base)
            guard size > 0 else { return [] }
            return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
                count = protobuf_c_message_pack(base, buffer.baseAddress!)
            }
        }
    }

    /// Builds a message tree in an arena with `build`, packs it, and frees the tree.
    static func pack<Message>(_ build: (ProtobufCArena) -> UnsafeMutablePointer<Message>) -> [UInt8] {
        let arena = ProtobufCArena()
        return encode(pointer: build(arena))
    }

    // MARK: Reading C messages into Swift values

    static func string(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
        pointer.map { String(cString: $0) } ?? ""
    }

    static func array<Element>(_ count: Int, _ pointer: UnsafeMutablePointer<Element>?) -> [Element] {
        guard let pointer, count > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: pointer, count: count))
    }

    static func strings(_ count: Int, _ pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> [String] {
        array(count, pointer).map { string($0) }
    }

    static func messages<Message, Value>(_ count: Int, _ pointer: UnsafeMutablePointer<UnsafeMutablePointer<Message>?>?,
                                         _ read: (UnsafePointer<Message>) -> Value) -> [Value] {
        array(count, pointer).compactMap { $0.map { read(UnsafePointer($0)) } }
    }

    /// A `bytes` value that refers to memory the caller keeps alive until the message is packed
    /// (inside the `withUnsafeBytes` that produced it): large payloads are not copied into the arena.
    static func borrowing(_ bytes: UnsafeRawBufferPointer) -> ProtobufCBinaryData {
        ProtobufCBinaryData(len: bytes.count, data: UnsafeMutablePointer(
            mutating: bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)))
    }

    static func bytes(_ data: ProtobufCBinaryData) -> [UInt8] {
        guard let pointer = data.data, data.len > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: pointer, count: data.len))
    }
}
