import CVDBMProtos

/// `grpc.health.v1.HealthCheckResponse`: the serving status of the service asked about.
public struct HealthCheckResponse: Sendable, Hashable {
    /// The status values of the health-checking protocol (numbers are part of the wire format).
    public enum ServingStatus: Int32, Sendable, Hashable {
        case unknown = 0
        case serving = 1
        case notServing = 2
        case serviceUnknown = 3
    }

    public var status: ServingStatus

    public init(status: ServingStatus) {
        self.status = status
    }

    /// Decodes the protobuf wire form; an unknown enum number reads as `.unknown`.
    public init(serializedBytes bytes: [UInt8]) throws(ProtobufDecodingError) {
        self = try ProtobufC.decode(bytes, messageType: "grpc.health.v1.HealthCheckResponse",
                                    unpack: grpc__health__v1__health_check_response__unpack) { message in
            HealthCheckResponse(status: ServingStatus(rawValue: Int32(message.pointee.status.rawValue)) ?? .unknown)
        }
    }

    /// Encodes the protobuf wire form.
    public func serializedBytes() -> [UInt8] {
        var message = Grpc__Health__V1__HealthCheckResponse()
        grpc__health__v1__health_check_response__init(&message)
        message.status = Grpc__Health__V1__HealthCheckResponse__ServingStatus(
            rawValue: numericCast(status.rawValue))
        return ProtobufC.encode(&message)
    }
}
