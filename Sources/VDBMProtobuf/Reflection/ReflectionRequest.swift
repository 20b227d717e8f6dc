import CVDBMProtos

/// `grpc.reflection.v1.ServerReflectionRequest` (v1alpha is the same on the wire): one question
/// on a reflection stream.
public struct ReflectionRequest: Sendable, Hashable {
    public enum Question: Sendable, Hashable {
        case fileByFilename(String)
        case fileContainingSymbol(String)
        case fileContainingExtension(containingType: String, number: Int32)
        case allExtensionNumbersOfType(String)
        case listServices
        /// No question set (or one from a newer protocol).
        case none
    }

    public var host: String
    public var question: Question

    public init(host: String = "", question: Question) {
        self.host = host
        self.question = question
    }

    public init(serializedBytes bytes: [UInt8]) throws(ProtobufDecodingError) {
        self = try ProtobufC.decode(bytes, messageType: "grpc.reflection.v1.ServerReflectionRequest",
                                    unpack: grpc__reflection__v1__server_reflection_request__unpack) {
            message throws(ProtobufDecodingError) in
            try ReflectionRequest(message.pointee)
        }
    }

    init(_ message: Grpc__Reflection__V1__ServerReflectionRequest) throws(ProtobufDecodingError) {
        host = try ProtobufC.string(message.host, field: "host")
        switch message.message_request_case {
        case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME:
            question = .fileByFilename(try ProtobufC.string(message.file_by_filename, field: "file_by_filename"))
        case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL:
            question = .fileContainingSymbol(try ProtobufC.string(message.file_containing_symbol, field: "file_containing_symbol"))
        case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_EXTENSION:
            let extensionRequest = message.file_containing_extension?.pointee
            question = .fileContainingExtension(
                containingType: try extensionRequest.map { e throws(ProtobufDecodingError) in
                    try ProtobufC.string(e.containing_type, field: "containing_type")
                } ?? "",
                number: extensionRequest?.extension_number ?? 0)
        case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE:
            question = .allExtensionNumbersOfType(
                try ProtobufC.string(message.all_extension_numbers_of_type, field: "all_extension_numbers_of_type"))
        case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES:
            question = .listServices
        default:
            question = .none
        }
    }

    public func serializedBytes() -> [UInt8] {
        ProtobufC.pack { arena in build(in: arena) }
    }

    func build(in arena: ProtobufCArena) -> UnsafeMutablePointer<Grpc__Reflection__V1__ServerReflectionRequest> {
        arena.message(grpc__reflection__v1__server_reflection_request__init) { message in
            message.host = arena.string(host)
            switch question {
            case .fileByFilename(let name):
                message.message_request_case = GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME
                message.file_by_filename = arena.string(name)
            case .fileContainingSymbol(let symbol):
                message.message_request_case = GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL
                message.file_containing_symbol = arena.string(symbol)
            case .fileContainingExtension(let containingType, let number):
                message.message_request_case = GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_EXTENSION
                message.file_containing_extension = arena.message(grpc__reflection__v1__extension_request__init) {
                    $0.containing_type = arena.string(containingType)
                    $0.extension_number = number
                }
            case .allExtensionNumbersOfType(let type):
                message.message_request_case = GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE
                message.all_extension_numbers_of_type = arena.string(type)
            case .listServices:
                message.message_request_case = GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES
                message.list_services = arena.string("*")
            case .none:
                break
            }
        }
    }
}
