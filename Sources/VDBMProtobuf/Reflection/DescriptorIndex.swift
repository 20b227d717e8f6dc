import CVDBMProtos

/// The protobuf descriptors that server reflection serves, indexed: each file's serialized
/// `FileDescriptorProto` as protoc wrote it, its imports, and which file defines each fully
/// qualified symbol (services, methods, messages, enums; nested ones too).
public struct DescriptorIndex: Sendable {
    public private(set) var files: [String: [UInt8]] = [:]
    public private(set) var dependencies: [String: [String]] = [:]
    public private(set) var symbols: [String: String] = [:]
    /// Message types (fully qualified), for extension questions.
    public private(set) var messageTypes: Set<String> = []

    /// vdbm's own: `vdbm.v1`, health and reflection, embedded by scripts/gen-protos.
    public static let embedded: DescriptorIndex = {
        let bytes = Array(UnsafeBufferPointer(start: vdbm_descriptor_set(), count: Int(vdbm_descriptor_set_length())))
        // The embedded set was checked by protoc when it was made: failing to read it is a build defect.
        return try! DescriptorIndex(descriptorSet: bytes)
    }()

    /// Indexes a serialized `FileDescriptorSet`.
    public init(descriptorSet: [UInt8]) throws(ProtobufDecodingError) {
        let fileBytes = try ProtobufC.decode(descriptorSet, messageType: "google.protobuf.FileDescriptorSet",
                                             unpack: vdbm__internal__descriptor_set_view__unpack) { set in
            ProtobufC.array(set.pointee.n_file, set.pointee.file).map(ProtobufC.bytes)
        }
        for bytes in fileBytes { try add(file: bytes) }
    }

    private mutating func add(file bytes: [UInt8]) throws(ProtobufDecodingError) {
        try ProtobufC.decode(bytes, messageType: "google.protobuf.FileDescriptorProto",
                             unpack: vdbm__internal__file_view__unpack) { file in
            let view = file.pointee
            let name = ProtobufC.text(view.name)
            let package = ProtobufC.text(view.package)
            let prefix = package.isEmpty ? "" : package + "."
            files[name] = bytes
            dependencies[name] = ProtobufC.texts(view.n_dependency, view.dependency)
            for service in ProtobufC.array(view.n_service, view.service).compactMap({ $0?.pointee }) {
                let serviceName = prefix + ProtobufC.text(service.name)
                symbols[serviceName] = name
                for method in ProtobufC.array(service.n_method, service.method).compactMap({ $0?.pointee }) {
                    symbols[serviceName + "." + ProtobufC.text(method.name)] = name
                }
            }
            for enumType in ProtobufC.array(view.n_enum_type, view.enum_type).compactMap({ $0?.pointee }) {
                symbols[prefix + ProtobufC.text(enumType.name)] = name
            }
            for message in ProtobufC.array(view.n_message_type, view.message_type).compactMap({ $0 }) {
                addMessage(message.pointee, prefix: prefix, file: name)
            }
        }
    }

    private mutating func addMessage(_ message: Vdbm__Internal__MessageView, prefix: String, file: String) {
        let fullName = prefix + ProtobufC.text(message.name)
        symbols[fullName] = file
        messageTypes.insert(fullName)
        for enumType in ProtobufC.array(message.n_enum_type, message.enum_type).compactMap({ $0?.pointee }) {
            symbols[fullName + "." + ProtobufC.text(enumType.name)] = file
        }
        for nested in ProtobufC.array(message.n_nested_type, message.nested_type).compactMap({ $0 }) {
            addMessage(nested.pointee, prefix: fullName + ".", file: file)
        }
    }

    /// `name` and every file it imports, directly or not, `name` first.
    public func fileWithDependencies(_ name: String) -> [[UInt8]]? {
        guard files[name] != nil else { return nil }
        var order: [String] = []
        var seen: Set<String> = []
        var pending = [name]
        while let next = pending.popLast() {
            guard seen.insert(next).inserted else { continue }
            order.append(next)
            pending.append(contentsOf: dependencies[next, default: []].reversed())
        }
        return order.compactMap { files[$0] }
    }
}
