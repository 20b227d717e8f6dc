import CVDBMProtos

/// `grpc.health.v1.HealthCheckRequest`: which service to report on ("" = the whole server).
public struct HealthCheckRequest: Sendable, Hashable {
    public var service: String

    public init(service: String = "") {
        self.service = service
    }

    /// Decodes the protobuf wire form.
    public init(serializedBytes bytes: [UInt8]) throws(ProtobufDecodingError) {
        self = try ProtobufC.decode(bytes, messageType: "grpc.health.v1.HealthCheckRequest",
                                    unpack: grpc__health__v1__health_check_request__unpack) { message in
            HealthCheckRequest(service: message.pointee.service.map { String(cString: $0) } ?? "")
        }
    }

    /// Encodes the protobuf wire form.
    public func serializedBytes() -> [UInt8] {
        var message = Grpc__Health__V1__HealthCheckRequest()
        grpc__health__v1__health_check_request__init(&message)
        var service = Array(self.service.utf8CString)
        return service.withUnsafeMutableBufferPointer { text in
            message.service = text.baseAddress
            return ProtobufC.encode(&message)
        }
    }
}
