import CVDBMProtos

/// `grpc.reflection.v1.ServerReflectionResponse` (v1alpha is the same on the wire).
public struct ReflectionResponse: Sendable, Hashable {
    public enum Answer: Sendable, Hashable {
        /// Serialized `FileDescriptorProto`s.
        case files([[UInt8]])
        case extensionNumbers(baseType: String, numbers: [Int32])
        case services([String])
        /// A gRPC status code and why.
        case error(code: Int32, message: String)
    }

    public var validHost: String
    public var originalRequest: ReflectionRequest
    public var answer: Answer

    public init(validHost: String, originalRequest: ReflectionRequest, answer: Answer) {
        self.validHost = validHost
        self.originalRequest = originalRequest
        self.answer = answer
    }

    public func serializedBytes() -> [UInt8] {
        ProtobufC.pack { arena in
            arena.message(grpc__reflection__v1__server_reflection_response__init) { message in
                message.valid_host = arena.string(validHost)
                message.original_request = originalRequest.build(in: arena)
                switch answer {
                case .files(let files):
                    message.message_response_case = GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE
                    message.file_descriptor_response = arena.message(grpc__reflection__v1__file_descriptor_response__init) {
                        $0.n_file_descriptor_proto = files.count
                        $0.file_descriptor_proto = arena.array(files.map(arena.binary))
                    }
                case .extensionNumbers(let baseType, let numbers):
                    message.message_response_case = GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ALL_EXTENSION_NUMBERS_RESPONSE
                    message.all_extension_numbers_response = arena.message(grpc__reflection__v1__extension_number_response__init) {
                        $0.base_type_name = arena.string(baseType)
                        $0.n_extension_number = numbers.count
                        $0.extension_number = arena.array(numbers)
                    }
                case .services(let names):
                    message.message_response_case = GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE
                    let services = names.map { name in
                        arena.message(grpc__reflection__v1__service_response__init) { $0.name = arena.string(name) }
                    }
                    message.list_services_response = arena.message(grpc__reflection__v1__list_service_response__init) {
                        $0.n_service = services.count
                        $0.service = arena.pointers(services)
                    }
                case .error(let code, let text):
                    message.message_response_case = GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE
                    message.error_response = arena.message(grpc__reflection__v1__error_response__init) {
                        $0.error_code = code
                        $0.error_message = arena.string(text)
                    }
                }
            }
        }
    }

    /// Decodes the wire form (the tests read answers back with it).
    public init(serializedBytes bytes: [UInt8]) throws(ProtobufDecodingError) {
        self = try ProtobufC.decode(bytes, messageType: "grpc.reflection.v1.ServerReflectionResponse",
                                    unpack: grpc__reflection__v1__server_reflection_response__unpack) {
            message throws(ProtobufDecodingError) in
            let response = message.pointee
            let original = try response.original_request.map { r throws(ProtobufDecodingError) in try ReflectionRequest(r.pointee) }
            let answer: Answer
            switch response.message_response_case {
            case GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE:
                let files = response.file_descriptor_response?.pointee
                answer = .files(ProtobufC.array(files?.n_file_descriptor_proto ?? 0, files?.file_descriptor_proto).map(ProtobufC.bytes))
            case GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ALL_EXTENSION_NUMBERS_RESPONSE:
                let numbers = response.all_extension_numbers_response?.pointee
                answer = .extensionNumbers(baseType: numbers.map { ProtobufC.text($0.base_type_name) } ?? "",
                                           numbers: ProtobufC.array(numbers?.n_extension_number ?? 0, numbers?.extension_number))
            case GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE:
                let list = response.list_services_response?.pointee
                answer = .services(ProtobufC.messages(list?.n_service ?? 0, list?.service) { ProtobufC.text($0.pointee.name) })
            default:
                let error = response.error_response?.pointee
                answer = .error(code: error?.error_code ?? 0, message: error.map { ProtobufC.text($0.error_message) } ?? "")
            }
            return ReflectionResponse(validHost: ProtobufC.text(response.valid_host),
                                      originalRequest: original ?? ReflectionRequest(question: .none), answer: answer)
        }
    }
}
