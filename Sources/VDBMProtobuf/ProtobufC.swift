import CProtobufC

/// Bytes that are not a valid serialization of the expected message, or a message whose string
/// field is not UTF-8 (proto3 requires it; protobuf-c does not check).
public struct ProtobufDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The message type that was expected, e.g. `grpc.health.v1.HealthCheckRequest`.
    public let messageType: String
    /// The string field that is not valid UTF-8 (e.g. `columns.strings`); `nil` when the bytes
    /// are not the message at all.
    public let invalidUTF8Field: String?

    public init(messageType: String, invalidUTF8Field: String? = nil) {
        self.messageType = messageType
        self.invalidUTF8Field = invalidUTF8Field
    }

    public var description: String {
        if let field = invalidUTF8Field { return "\(field) is not valid UTF-8 (in \(messageType))" }
        return "request is not a valid \(messageType) message"
    }
}

/// The generic part of every protobuf-c pack and unpack: buffers in, buffers out, memory freed.
/// Nothing outside this module sees a protobuf-c pointer.
enum ProtobufC {
    /// The signature protoc-c gives every `<message>__unpack` function.
    typealias Unpack<Message> = (UnsafeMutablePointer<ProtobufCAllocator>?, Int, UnsafePointer<UInt8>?)
        -> UnsafeMutablePointer<Message>?

    /// Unpacks `bytes` with a generated `unpack`, hands the C message to `read` (which copies what
    /// it needs into Swift values), then frees it.
    /// `read` may throw `invalidUTF8Field` errors with any message type: the caller's is filled in.
    static func decode<Message, Result>(
        _ bytes: [UInt8], messageType: String, unpack: Unpack<Message>,
        read: (UnsafePointer<Message>) throws(ProtobufDecodingError) -> Result
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
        do {
            return try read(unpacked)
        } catch {
            throw ProtobufDecodingError(messageType: messageType, invalidUTF8Field: error.invalidUTF8Field)
        }
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

    // Every proto `string` is generated as protobuf-c `bytes` (scripts/gen-protos says why), so
    // strings are read with their length: an embedded NUL is kept, never a place to stop.

    /// A string field of a request: every byte kept; not UTF-8 is an error naming `field`.
    static func string(_ data: ProtobufCBinaryData, field: String) throws(ProtobufDecodingError) -> String {
        guard let pointer = data.data, data.len > 0 else { return "" }
        guard let text = String(validating: UnsafeBufferPointer(start: pointer, count: data.len), as: UTF8.self) else {
            throw ProtobufDecodingError(messageType: "", invalidUTF8Field: field)
        }
        return text
    }

    /// The string fields of a request (`repeated string`).
    static func strings(_ count: Int, _ pointer: UnsafeMutablePointer<ProtobufCBinaryData>?,
                        field: String) throws(ProtobufDecodingError) -> [String] {
        var result: [String] = []
        result.reserveCapacity(count)
        for data in array(count, pointer) { result.append(try string(data, field: field)) }
        return result
    }

    /// A string field of a server's response (Milvus), every byte kept. Milvus's Go protobuf
    /// only sends UTF-8; anything else would be repaired with U+FFFD rather than fail the call.
    static func text(_ data: ProtobufCBinaryData) -> String {
        guard let pointer = data.data, data.len > 0 else { return "" }
        return String(decoding: UnsafeBufferPointer(start: pointer, count: data.len), as: UTF8.self)
    }

    static func texts(_ count: Int, _ pointer: UnsafeMutablePointer<ProtobufCBinaryData>?) -> [String] {
        array(count, pointer).map(text)
    }

    static func array<Element>(_ count: Int, _ pointer: UnsafeMutablePointer<Element>?) -> [Element] {
        guard let pointer, count > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: pointer, count: count))
    }

    static func messages<Message, Value, Failure: Error>(
        _ count: Int, _ pointer: UnsafeMutablePointer<UnsafeMutablePointer<Message>?>?,
        _ read: (UnsafePointer<Message>) throws(Failure) -> Value
    ) throws(Failure) -> [Value] {
        var result: [Value] = []
        result.reserveCapacity(count)
        for message in array(count, pointer) {
            if let message { result.append(try read(UnsafePointer(message))) }
        }
        return result
    }

    /// A `bytes` value that refers to memory the caller keeps alive until the message is packed
    /// (inside the `withUnsafeBytes` that produced it): large payloads are not copied into the arena.
    static func borrowing(_ bytes: UnsafeRawBufferPointer) -> ProtobufCBinaryData {
        ProtobufCBinaryData(len: bytes.count, data: UnsafeMutablePointer(
            mutating: bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)))
    }

    /// True when protobuf-c met no field it does not know in `message` (a newer peer's field).
    static func understood<Message>(_ message: UnsafePointer<Message>) -> Bool {
        UnsafeRawPointer(message).assumingMemoryBound(to: ProtobufCMessage.self).pointee.n_unknown_fields == 0
    }

    static func understood<Message>(_ message: UnsafeMutablePointer<Message>) -> Bool {
        understood(UnsafePointer(message))
    }

    static func bytes(_ data: ProtobufCBinaryData) -> [UInt8] {
        guard let pointer = data.data, data.len > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: pointer, count: data.len))
    }
}
