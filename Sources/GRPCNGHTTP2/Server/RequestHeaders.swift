import VDBMUtils

/// The header block of one incoming gRPC request, reduced to what the server acts on.
struct RequestHeaders {
    var method: String?
    var path: String?
    var contentType: String?
    var timeout: String?
    var encoding: String?
    var requestID: String?
    var metadata = Metadata()
    /// Bytes counted by the RFC 9113 rule (name + value + 32 per field).
    var listSize = 0
    var exceededLimit = false
    var invalidBinaryMetadata: String?

    /// Records one field, unless the list has grown past `limit`.
    mutating func add(name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>, limit: Int) {
        listSize += name.count + value.count + 32
        if listSize > limit { exceededLimit = true }
        if exceededLimit { return }
        func text(_ bytes: UnsafeBufferPointer<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }
        switch HeaderName.classify(name) {
        case .method: method = text(value)
        case .path: path = text(value)
        case .contentType:
            // The common value is kept as a literal: no string is built for it.
            contentType = HeaderName.equals(value, "application/grpc") ? Self.plainGRPC : text(value)
        case .timeout: timeout = text(value)
        case .encoding: encoding = text(value)
        case .reserved: return
        case .requestID:
            requestID = text(value)
            metadata.append("x-request-id", .text(requestID!))
        case .custom:
            let key = text(name)
            if key.hasSuffix("-bin") {
                guard let bytes = Base64.decode(text(value)) else {
                    invalidBinaryMetadata = key
                    return
                }
                metadata.append(key, .binary(bytes))
            } else {
                metadata.append(key, .text(text(value)))
            }
        }
    }

    /// String form of `add`, for tests.
    mutating func add(name: String, value: String, limit: Int) {
        var name = name
        var value = value
        name.withUTF8 { nameBytes in
            value.withUTF8 { valueBytes in add(name: nameBytes, value: valueBytes, limit: limit) }
        }
    }

    /// Checks the header block against the gRPC-over-HTTP/2 rules; the failure says how to answer.
    func validate() -> HeaderCheck {
        if exceededLimit {
            return .grpcError(GRPCStatus(.resourceExhausted, "request header list exceeds the limit"))
        }
        guard method == "POST" else { return .httpError(status: 405) }
        if contentType == Self.plainGRPC {
            return validateRest()
        }
        guard let contentType, contentType.hasPrefix("application/grpc") else {
            return .httpError(status: 415)
        }
        let subtype = contentType.dropFirst("application/grpc".count)
        if !(subtype.isEmpty || subtype == "+proto" || subtype.hasPrefix(";") || subtype.hasPrefix("+proto;")) {
            return .grpcError(GRPCStatus(.unimplemented, "content-type \(contentType) is not supported; use application/grpc"))
        }
        return validateRest()
    }

    private static let plainGRPC = "application/grpc"

    private func validateRest() -> HeaderCheck {
        if let encoding, encoding != "identity" {
            return .unsupportedEncoding(encoding)
        }
        if let timeout, GRPCTimeout.parse(timeout) == nil {
            return .grpcError(GRPCStatus(.internal, "malformed grpc-timeout \(timeout)"))
        }
        if let invalidBinaryMetadata {
            return .grpcError(GRPCStatus(.internal, "metadata \(invalidBinaryMetadata) is not valid base64"))
        }
        return .valid
    }

    enum HeaderCheck: Equatable {
        case valid
        case httpError(status: Int)
        case grpcError(GRPCStatus)
        case unsupportedEncoding(String)
    }
}
