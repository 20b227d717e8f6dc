/// The request header names the server acts on, recognised from raw bytes so that no string is
/// made for a header whose value is not kept.
enum HeaderName {
    case method, path, contentType, timeout, encoding, requestID
    /// Protocol headers the server does not keep (`:scheme`, `te`, `grpc-*`, ...).
    case reserved
    /// Application metadata.
    case custom

    static func classify(_ name: UnsafeBufferPointer<UInt8>) -> HeaderName {
        guard let first = name.first else { return .custom }
        if first == UInt8(ascii: ":") {
            if equals(name, ":path") { return .path }
            if equals(name, ":method") { return .method }
            return .reserved
        }
        if first == UInt8(ascii: "g"), name.count > 5, equals(UnsafeBufferPointer(rebasing: name[0..<5]), "grpc-") {
            if equals(name, "grpc-timeout") { return .timeout }
            if equals(name, "grpc-encoding") { return .encoding }
            return .reserved
        }
        if equals(name, "content-type") { return .contentType }
        if equals(name, "te") || equals(name, "user-agent") || equals(name, "connection") { return .reserved }
        if equals(name, "x-request-id") { return .requestID }
        return .custom
    }

    static func equals(_ bytes: UnsafeBufferPointer<UInt8>, _ text: StaticString) -> Bool {
        bytes.count == text.utf8CodeUnitCount
            && memcmp(bytes.baseAddress!, text.utf8Start, bytes.count) == 0
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
