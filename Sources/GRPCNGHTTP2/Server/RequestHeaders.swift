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
    mutating func add(name: String, value: String, limit: Int) {
        listSize += name.utf8.count + value.utf8.count + 32
        if listSize > limit { exceededLimit = true }
        if exceededLimit { return }
        switch name {
        case ":method": method = value
        case ":path": path = value
        case "content-type": contentType = value
        case "grpc-timeout": timeout = value
        case "grpc-encoding": encoding = value
        case "x-request-id":
            requestID = value
            metadata.append(name, .text(value))
        default:
            guard !Metadata.isReserved(name) else { return }
            if name.hasSuffix("-bin") {
                guard let bytes = Base64.decode(value) else {
                    invalidBinaryMetadata = name
                    return
                }
                metadata.append(name, .binary(bytes))
            } else {
                metadata.append(name, .text(value))
            }
        }
    }

    /// Checks the header block against the gRPC-over-HTTP/2 rules; the failure says how to answer.
    func validate() -> HeaderCheck {
        if exceededLimit {
            return .grpcError(GRPCStatus(.resourceExhausted, "request header list exceeds the limit"))
        }
        guard method == "POST" else { return .httpError(status: 405) }
        guard let contentType, contentType.hasPrefix("application/grpc") else {
            return .httpError(status: 415)
        }
        let subtype = contentType.dropFirst("application/grpc".count)
        if !(subtype.isEmpty || subtype == "+proto" || subtype.hasPrefix(";") || subtype.hasPrefix("+proto;")) {
            return .grpcError(GRPCStatus(.unimplemented, "content-type \(contentType) is not supported; use application/grpc"))
        }
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
