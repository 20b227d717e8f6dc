import GRPCNGHTTP2
import Glibc
import NIOCore
import NIOSSL
import NIOTLS
import Synchronization

/// A TLS file that cannot be used: the message names the configuration key, the file and why,
/// and vdbm stops at start with it (a reload keeps the old certificates instead).
public struct TLSSetupError: Error, CustomStringConvertible, Equatable {
    public let key: String
    public let path: String
    public let reason: String

    public var description: String { "\(key): \(path): \(reason)" }
}

/// Builds NIOSSL contexts from the configuration's TLS settings, reading and checking each file.
enum TLSContexts {
    /// The gRPC listener's context: h2 by ALPN, the minimum version, and with a client CA file
    /// a required client certificate signed by it.
    static func server(_ settings: ServerTLSSettings, now: time_t = time(nil)) throws(TLSSetupError) -> NIOSSLContext {
        let chain = try certificates(settings.certificateFile, key: "server.tls.cert_file", now: now)
        let privateKey = try key(settings.privateKeyFile, key: "server.tls.key_file")
        var configuration: TLSConfiguration
        if let caFile = settings.clientCAFile {
            let roots = try certificates(caFile, key: "server.tls.client_ca_file", now: now)
            configuration = .makeServerConfigurationWithMTLS(certificateChain: chain.map { .certificate($0) },
                                                             privateKey: .privateKey(privateKey),
                                                             trustRoots: .certificates(roots))
        } else {
            configuration = .makeServerConfiguration(certificateChain: chain.map { .certificate($0) },
                                                     privateKey: .privateKey(privateKey))
        }
        configuration.minimumTLSVersion = settings.minimumVersion == .v13 ? .tlsv13 : .tlsv12
        configuration.applicationProtocols = ["h2"]
        return try context(configuration, key: "server.tls.cert_file", path: settings.certificateFile)
    }

    /// The context of connections to Milvus: its CA (or the system's roots), full verification,
    /// h2 by ALPN, and a client certificate for Milvus's mTLS mode.
    static func milvus(_ settings: MilvusTLSSettings, now: time_t = time(nil)) throws(TLSSetupError) -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["h2"]
        if let caFile = settings.caFile {
            configuration.trustRoots = .certificates(try certificates(caFile, key: "milvus.tls_ca_file", now: now))
        }
        if let certificateFile = settings.certificateFile, let keyFile = settings.privateKeyFile {
            configuration.certificateChain = try certificates(certificateFile, key: "milvus.tls_cert_file", now: now)
                .map { .certificate($0) }
            configuration.privateKey = .privateKey(try key(keyFile, key: "milvus.tls_key_file"))
        }
        return try context(configuration, key: "milvus.tls_ca_file", path: settings.caFile ?? "(system roots)")
    }

    /// The PEM certificates in `path`; none, unreadable or one expired is an error naming `key`.
    static func certificates(_ path: String, key: String, now: time_t) throws(TLSSetupError) -> [NIOSSLCertificate] {
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw TLSSetupError(key: key, path: path, reason: readable(error, path: path, what: "PEM certificates"))
        }
        guard !certificates.isEmpty else { throw TLSSetupError(key: key, path: path, reason: "no PEM certificate in the file") }
        for certificate in certificates where certificate.notValidAfter < now {
            throw TLSSetupError(key: key, path: path, reason: "a certificate in the file expired at \(utc(certificate.notValidAfter))")
        }
        return certificates
    }

    private static func key(_ path: String, key: String) throws(TLSSetupError) -> NIOSSLPrivateKey {
        do {
            return try NIOSSLPrivateKey(file: path, format: .pem)
        } catch {
            throw TLSSetupError(key: key, path: path, reason: readable(error, path: path, what: "a PEM private key"))
        }
    }

    private static func context(_ configuration: TLSConfiguration, key: String, path: String) throws(TLSSetupError) -> NIOSSLContext {
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            // Mostly: the private key does not match the certificate.
            throw TLSSetupError(key: key, path: path, reason: "unusable TLS settings: \(error)")
        }
    }

    /// Why a file could not be read: missing or unreadable, or not the expected content.
    private static func readable(_ error: any Error, path: String, what: String) -> String {
        if access(path, R_OK) != 0 { return String(cString: strerror(errno)) }
        return "not \(what) (\(error))"
    }

    private static func utc(_ seconds: time_t) -> String {
        var value = seconds
        var parts = tm()
        gmtime_r(&value, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }
}

/// The listener's current TLS context: new connections take it, a reload (SIGHUP) replaces it;
/// connections already open keep theirs, so none is dropped.
public final class ServerTLSContext: Sendable {
    private let current: Mutex<NIOSSLContext>

    init(_ context: NIOSSLContext) {
        current = Mutex(context)
    }

    var context: NIOSSLContext { current.withLock { $0 } }

    func replace(with context: NIOSSLContext) {
        current.withLock { $0 = context }
    }

    /// Puts a TLS server handler first in a new connection's pipeline.
    func addHandler(to channel: any Channel) throws {
        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
    }
}

/// TLS on the connections to Milvus: a client handler per connection, with the name to verify
/// (and send as SNI) from `milvus.tls_server_name` or the endpoint's host (an IP address is
/// verified against the certificate's IP entries, without SNI).
enum MilvusTLSTransport {
    static func setup(context: NIOSSLContext, serverName: String?) -> ClientTransportSetup {
        ClientTransportSetup(name: "tls") { channel, host in
            let name = serverName ?? host
            let isAddress = (try? SocketAddress(ipAddress: name, port: 0)) != nil
            let handshake = channel.eventLoop.makePromise(of: Void.self)
            try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: isAddress ? nil : name))
            try channel.pipeline.syncOperations.addHandler(HandshakeWaiter(promise: handshake))
            return handshake.futureResult
        }
    }
}

/// Completes its promise when the TLS handshake is done, fails it when the handshake fails or
/// the connection closes first; otherwise passes everything on.
private final class HandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private var promise: EventLoopPromise<Void>?

    init(promise: EventLoopPromise<Void>) {
        self.promise = promise
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            promise?.succeed()
            promise = nil
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise?.fail(error)
        promise = nil
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise?.fail(ChannelError.ioOnClosedChannel)
        promise = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        promise?.fail(ChannelError.ioOnClosedChannel)
        promise = nil
    }
}
