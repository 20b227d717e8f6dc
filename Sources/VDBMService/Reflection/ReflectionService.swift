import GRPCNGHTTP2
import VDBMProtobuf

/// gRPC server reflection, `grpc.reflection.v1` or `v1alpha` (the same messages on the wire):
/// one bidirectional stream answers questions about the server's services and their protobuf
/// descriptors in order, so that grpcurl and similar tools work without `.proto` files. It
/// describes the API, never data, and needs no API key (as health checks).
public struct ReflectionService: GRPCService {
    public static let v1 = "grpc.reflection.v1.ServerReflection"
    public static let v1alpha = "grpc.reflection.v1alpha.ServerReflection"

    public let serviceName: String
    /// What `list_services` answers: the services the server offers.
    let services: [String]
    private let index: DescriptorIndex

    public init(serviceName: String, services: [String], index: DescriptorIndex = .embedded) {
        self.serviceName = serviceName
        self.services = services
        self.index = index
    }

    /// Both versions, listing those of `services` that `index` describes, and themselves: a name
    /// a client could not describe (the Milvus pass-through's) is left out.
    public static func both(listing services: [String], index: DescriptorIndex = .embedded) -> [ReflectionService] {
        let listed = services.filter { index.symbols[$0] != nil } + [v1, v1alpha]
        return [v1, v1alpha].map { ReflectionService(serviceName: $0, services: listed, index: index) }
    }

    /// Open to every caller (``CallPolicy/open``), as gRPC tooling expects.
    public var methods: [MethodDescriptor: MethodHandler] {
        let services = self.services
        let index = self.index
        let descriptor = MethodDescriptor(service: serviceName, method: "ServerReflectionInfo", policy: CallPolicy.open)
        return [descriptor: .streaming { requests, responses, _ in
            for try await bytes in requests {
                // A broken request ends the call with INVALID_ARGUMENT by the pipeline's error mapping.
                let request = try ReflectionRequest(serializedBytes: bytes)
                try await responses.write(Self.answer(request, services: services, index: index).serializedBytes())
            }
        }]
    }

    static func answer(_ request: ReflectionRequest, services: [String], index: DescriptorIndex) -> ReflectionResponse {
        let answer: ReflectionResponse.Answer
        switch request.question {
        case .listServices:
            answer = .services(services)
        case .fileByFilename(let name):
            answer = index.fileWithDependencies(name).map { .files($0) } ?? Self.notFound("file \(name)")
        case .fileContainingSymbol(let symbol):
            answer = index.symbols[symbol].flatMap(index.fileWithDependencies).map { .files($0) } ?? Self.notFound("symbol \(symbol)")
        case .fileContainingExtension(let type, let number):
            answer = Self.notFound("extension \(number) of \(type)")  // vdbm's protos declare no extensions
        case .allExtensionNumbersOfType(let type):
            answer = index.messageTypes.contains(type) ? .extensionNumbers(baseType: type, numbers: []) : Self.notFound("type \(type)")
        case .none:
            answer = .error(code: Int32(GRPCStatus.Code.invalidArgument.rawValue), message: "the request asks nothing")
        }
        return ReflectionResponse(validHost: request.host, originalRequest: request, answer: answer)
    }

    private static func notFound(_ what: String) -> ReflectionResponse.Answer {
        .error(code: Int32(GRPCStatus.Code.notFound.rawValue), message: "\(what) not found")
    }
}
