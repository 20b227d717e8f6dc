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
                                    unpack: grpc__health__v1__health_check_request__unpack) { message throws(ProtobufDecodingError) in
            HealthCheckRequest(service: try ProtobufC.string(message.pointee.service, field: "service"))
        }
    }

    /// Encodes the protobuf wire form.
    public func serializedBytes() -> [UInt8] {
        ProtobufC.pack { arena in
            arena.message(grpc__health__v1__health_check_request__init) { $0.service = arena.string(service) }
        }
    }
}
