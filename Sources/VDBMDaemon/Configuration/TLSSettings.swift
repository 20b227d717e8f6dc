/// The lowest TLS version a TLS listener accepts (`server.tls.min_version`).
public enum TLSMinimumVersion: String, Sendable, Equatable {
    case v12 = "1.2"
    case v13 = "1.3"
}

/// TLS on the gRPC TCP listener: on when `server.tls.cert_file` is set. With a client CA file,
/// clients must present a certificate it signed (mTLS). The Unix socket stays plaintext.
public struct ServerTLSSettings: Sendable, Equatable {
    public var certificateFile: String
    public var privateKeyFile: String
    public var clientCAFile: String?
    public var minimumVersion: TLSMinimumVersion
}

/// TLS towards Milvus (`milvus.tls`): the CA that signed Milvus's certificate (the system's
/// roots when nil), the name to expect in it (SNI and verification; the endpoint's host when
/// nil), and a client certificate for Milvus's mTLS mode.
public struct MilvusTLSSettings: Sendable, Equatable {
    public var caFile: String?
    public var serverName: String?
    public var certificateFile: String?
    public var privateKeyFile: String?
}
