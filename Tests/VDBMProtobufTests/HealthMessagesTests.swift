import Testing
@testable import VDBMProtobuf

@Suite struct HealthMessagesTests {
    @Test func requestEncodesToTheStandardWireBytes() {
        // Field 1, wire type 2 (0x0A), length 3, "abc".
        #expect(HealthCheckRequest(service: "abc").serializedBytes() == [0x0A, 0x03, 0x61, 0x62, 0x63])
        #expect(HealthCheckRequest(service: "").serializedBytes() == [])
    }

    @Test func requestRoundTripsThroughProtobufC() throws {
        for name in ["", "grpc.health.v1.Health", "vdbm.v1.VectorDB", "ünïcødé"] {
            #expect(try HealthCheckRequest(serializedBytes: HealthCheckRequest(service: name).serializedBytes()).service == name)
        }
    }

    @Test func emptyBytesDecodeToTheDefaultRequest() throws {
        #expect(try HealthCheckRequest(serializedBytes: []) == HealthCheckRequest(service: ""))
    }

    @Test func unknownFieldsAreSkipped() throws {
        // Field 2 (varint 7) before field 1.
        #expect(try HealthCheckRequest(serializedBytes: [0x10, 0x07, 0x0A, 0x01, 0x78]).service == "x")
    }

    @Test(arguments: [[0x0A, 0x05, 0x61] as [UInt8], [0x0A], [0xFF, 0xFF, 0xFF], [0x0B, 0x00]])
    func malformedBytesThrowNamingTheMessage(bytes: [UInt8]) {
        #expect(throws: ProtobufDecodingError(messageType: "grpc.health.v1.HealthCheckRequest")) {
            try HealthCheckRequest(serializedBytes: bytes)
        }
    }

    @Test func responseEncodesTheStatusAsAVarint() throws {
        #expect(HealthCheckResponse(status: .serving).serializedBytes() == [0x08, 0x01])
        #expect(HealthCheckResponse(status: .unknown).serializedBytes() == [])
        for status: HealthCheckResponse.ServingStatus in [.unknown, .serving, .notServing, .serviceUnknown] {
            #expect(try HealthCheckResponse(serializedBytes: HealthCheckResponse(status: status).serializedBytes()).status == status)
        }
    }
}
