import Logging
import MilvusClient
import VDBMManager
import VDBMService
import VDBMUtils


/// vdbm's configuration, from (lowest to highest precedence) built-in defaults, the YAML file,
/// `VDBM_*` environment variables and `--set key=value` flags.
public struct VDBMConfiguration: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var unixSocket: String?
    public var eventLoopThreads: Int
    public var maxMessageBytes: Int
    public var maxBufferedRequestBytes: Int
    public var maxConcurrentStreams: Int
    public var initialWindowBytes: Int
    public var connectionWindowBytes: Int
    public var maxHeaderListBytes: Int
    public var defaultTimeout: Duration
    public var shutdownGrace: Duration
    /// Server connection lifetime (`nil`: no limit).
    public var idleTimeout: Duration?
    public var maxConnectionAge: Duration?
    public var maxConnectionAgeGrace: Duration
    public var prefaceTimeout: Duration?
    public var minimumPingInterval: Duration
    public var maxMessagesPerStream: Int
    /// `nil`: plaintext (h2c) on TCP.
    public var serverTLS: ServerTLSSettings?
    /// `nil` when `milvus.tls` is false.
    public var milvusTLS: MilvusTLSSettings?
    /// Serve `grpc.reflection.v1` and `v1alpha`.
    public var reflection: Bool
    /// Serve `milvus.proto.milvus.MilvusService` (pass-through for Milvus SDKs).
    public var milvusPassThrough: Bool
    /// Pass-through clients may present their own Milvus credentials.
    public var passThroughClientCredentials: Bool
    /// Admission control of `vdbm.v1` calls (`server.max_inflight_*`).
    public var admission: AdmissionLimits
    public var logLevel: Logger.Level
    public var accessLog: Bool
    /// The admin listener (HTTP/1.1: /metrics, /healthz, /readyz); port 0 turns it off.
    public var adminHost: String
    public var adminPort: Int
    public var milvusEndpoints: [MilvusEndpoint]
    public var milvusConnectionsPerEndpoint: Int
    public var milvusMaxWaitingCalls: Int
    /// Never logged or printed.
    public var milvusCredentials: MilvusCredentials?
    public var milvusConnectTimeout: Duration
    /// PINGs on Milvus connections: idle, with calls open, and how long an ACK may take.
    public var milvusKeepaliveInterval: Duration
    public var milvusBusyPingAfter: Duration
    public var milvusPingTimeout: Duration
    public var retryPolicy: RetryPolicy
    /// `nil` when auth is off.
    public var apiKeys: [APIKey]?
    public var requestLimits: RequestLimits
    /// `nil` when `search.coalescing` is false.
    public var searchCoalescing: SearchCoalescingPolicy?
    /// `nil` when `writes.coalescing` is false.
    public var writeCoalescing: WriteCoalescingPolicy?
    /// `nil` when `tracing.otlp_endpoint` is empty.
    public var tracing: TracingSettings?
    /// Every key's resolved value, as text: what a reload compares.
    public var settings: [String: String] = [:]

    /// Loads and checks the configuration. `filePath` nil means defaults only; `environment` is
    /// usually the process environment; `overrides` are `key=value` flags, applied last.
    public static func load(filePath: String?, environment: [String: String],
                            overrides: [String]) throws(ConfigurationError) -> VDBMConfiguration {
        var values: [String: (value: String, source: String)] = [:]
        for key in ConfigurationKey.all { values[key.name] = (key.defaultValue, "default") }

        if let filePath {
            for (key, value) in try YAMLFlattener.flatten(try readFile(filePath), path: filePath) {
                guard ConfigurationKey.byName[key] != nil else { throw .unknownKey(key: key, source: filePath) }
                values[key] = (value, filePath)
            }
        }
        for key in ConfigurationKey.all {
            if let value = environment[key.environmentName] {
                values[key.name] = (value, "environment \(key.environmentName)")
            }
        }
        // VDBM_AUTH_ENABLE=true must not leave auth off in silence.
        let known = Set(ConfigurationKey.all.map(\.environmentName))
        if let unknown = environment.keys.filter({ $0.hasPrefix("VDBM_") && !known.contains($0) }).sorted().first {
            throw .unknownEnvironmentVariable(name: unknown, suggestion: ConfigurationKey.nearestEnvironmentName(to: unknown))
        }
        for override in overrides {
            guard let equals = override.firstIndex(of: "=") else { throw .malformedOverride(override) }
            let key = String(override[..<equals]).trimmingSpaces
            guard ConfigurationKey.byName[key] != nil else { throw .unknownKey(key: key, source: "--set") }
            values[key] = (String(override[override.index(after: equals)...]).trimmingSpaces, "--set")
        }
        return try VDBMConfiguration(values: values)
    }

    private init(values: [String: (value: String, source: String)]) throws(ConfigurationError) {
        let reader = ValueReader(values: values)
        settings = values.mapValues(\.value)
        host = try reader.nonEmptyString("server.host")
        port = try reader.integer("server.port", in: 0...65535)
        let socket = try reader.string("server.unix_socket")
        unixSocket = socket.isEmpty ? nil : socket
        eventLoopThreads = try reader.integer("server.event_loop_threads", in: 0...256)
        maxMessageBytes = try reader.integer("server.max_message_bytes", in: 1024...(1 << 30))
        maxBufferedRequestBytes = try reader.integer("server.max_buffered_request_bytes", in: (1 << 20)...(1 << 40))
        maxConcurrentStreams = try reader.integer("server.max_concurrent_streams", in: 1...100_000)
        initialWindowBytes = try reader.integer("server.initial_window_bytes", in: 65535...Int(Int32.max))
        connectionWindowBytes = try reader.integer("server.connection_window_bytes", in: 65535...Int(Int32.max))
        maxHeaderListBytes = try reader.integer("server.max_header_list_bytes", in: 1024...(16 << 20))
        defaultTimeout = try reader.seconds("server.default_timeout_seconds")
        idleTimeout = try reader.secondsOrOff("server.idle_timeout_seconds")
        maxConnectionAge = try reader.secondsOrOff("server.max_connection_age_seconds")
        maxConnectionAgeGrace = try reader.seconds("server.max_connection_age_grace_seconds")
        prefaceTimeout = try reader.secondsOrOff("server.preface_timeout_seconds")
        minimumPingInterval = try reader.seconds("server.keepalive_min_ping_interval_seconds")
        maxMessagesPerStream = try reader.integer("server.max_messages_per_stream", in: 1...Int(Int32.max))
        serverTLS = try reader.serverTLS()
        reflection = try reader.boolean("server.reflection")
        milvusPassThrough = try reader.boolean("server.milvus_passthrough")
        passThroughClientCredentials = try reader.boolean("auth.passthrough_milvus_credentials")
        let classKeys: [CallClass: String] = [.search: "server.max_inflight_searches", .read: "server.max_inflight_reads",
                                              .write: "server.max_inflight_writes", .admin: "server.max_inflight_admin"]
        var perClass: [CallClass: Int] = [:]
        for (callClass, key) in classKeys { perClass[callClass] = try reader.integer(key, in: 1...1_000_000) }
        admission = AdmissionLimits(total: try reader.integer("server.max_inflight_calls", in: 1...1_000_000),
                                    perClass: perClass, totalKey: "server.max_inflight_calls", keys: classKeys)
        shutdownGrace = try reader.seconds("server.shutdown_grace_seconds")
        logLevel = try reader.logLevel("logging.level")
        accessLog = try reader.boolean("logging.access_log")
        tracing = try reader.tracing()
        adminHost = try reader.nonEmptyString("admin.host")
        adminPort = try reader.integer("admin.port", in: 0...65535)
        if adminPort != 0 && adminPort == port {
            throw .invalidValue(key: "admin.port", value: "\(adminPort)", expected: "a port other than server.port (or 0)",
                                source: values["admin.port"]?.source ?? "default")
        }
        milvusEndpoints = try reader.endpoints("milvus.endpoints")
        milvusConnectionsPerEndpoint = try reader.integer("milvus.connections_per_endpoint", in: 1...64)
        milvusMaxWaitingCalls = try reader.integer("milvus.max_waiting_calls", in: 0...1_000_000)
        let user = try reader.string("milvus.user"), password = try reader.string("milvus.password")
        let token = try reader.string("milvus.token")
        switch (user.isEmpty, password.isEmpty, token.isEmpty) {
        case (true, true, true): milvusCredentials = nil
        case (false, _, true): milvusCredentials = .password(user: user, password: password)
        case (true, true, false): milvusCredentials = .token(token)
        case (true, false, _):
            throw .invalidValue(key: "milvus.password", value: "(hidden)", expected: "milvus.user set as well",
                                source: values["milvus.password"]!.source)
        case (false, _, false):
            throw .invalidValue(key: "milvus.token", value: "(hidden)", expected: "either a token or user and password",
                                source: values["milvus.token"]!.source)
        }
        milvusTLS = try reader.milvusTLS()
        milvusConnectTimeout = try reader.seconds("milvus.connect_timeout_seconds")
        milvusKeepaliveInterval = try reader.seconds("milvus.keepalive_interval_seconds")
        milvusBusyPingAfter = try reader.seconds("milvus.busy_ping_after_seconds")
        milvusPingTimeout = try reader.seconds("milvus.ping_timeout_seconds")
        retryPolicy = RetryPolicy(maxAttempts: try reader.integer("milvus.retry_max_attempts", in: 1...20),
                                  initialBackoff: try reader.seconds("milvus.retry_initial_backoff_seconds"),
                                  maxBackoff: try reader.seconds("milvus.retry_max_backoff_seconds"))
        let keys = try reader.apiKeys("auth.api_keys")
        if try reader.boolean("auth.enabled") {
            guard !keys.isEmpty else {
                throw .invalidValue(key: "auth.api_keys", value: "(empty)", expected: "at least one key when auth.enabled is true",
                                    source: values["auth.api_keys"]!.source)
            }
            apiKeys = keys
        } else {
            apiKeys = nil
        }
        requestLimits = RequestLimits(maxBatchRows: try reader.integer("limits.max_batch_rows", in: 1...10_000_000),
                                      maxFilterBytes: try reader.integer("limits.max_filter_bytes", in: 16...(1 << 20)),
                                      maxSearchVectors: try reader.integer("limits.max_search_vectors", in: 1...16_384))
        let policy = SearchCoalescingPolicy(
            maxBatchVectors: try reader.integer("search.max_batch_vectors", in: 1...16_384),
            maxInflightBatches: try reader.integer("search.max_inflight_batches", in: 1...1024),
            maxQueuedVectors: try reader.integer("search.max_queued_vectors", in: 0...10_000_000),
            maxWait: .microseconds(try reader.integer("search.max_wait_microseconds", in: 0...1_000_000)),
            regroupWait: .microseconds(try reader.integer("search.regroup_wait_microseconds", in: 0...1_000_000)))
        searchCoalescing = try reader.boolean("search.coalescing") ? policy : nil
        let writes = WriteCoalescingPolicy(
            maxBatchRows: try reader.integer("writes.max_batch_rows", in: 1...100_000),
            maxBatchBytes: try reader.integer("writes.max_batch_bytes", in: 1024...(64 << 20)),
            maxInflightBatches: try reader.integer("writes.max_inflight_batches", in: 1...1024),
            maxQueuedRows: try reader.integer("writes.max_queued_rows", in: 0...10_000_000))
        writeCoalescing = try reader.boolean("writes.coalescing") ? writes : nil
    }

    private static func readFile(_ path: String) throws(ConfigurationError) -> String {
        do {
            return try TextFile.read(path)
        } catch {
            throw .unreadableFile(path: path, reason: error.reason)
        }
    }
}

/// Typed reads of the merged values; each failure names the key, the value and its source.
private struct ValueReader {
    let values: [String: (value: String, source: String)]

    func string(_ key: String) throws(ConfigurationError) -> String {
        values[key]!.value
    }

    func nonEmptyString(_ key: String) throws(ConfigurationError) -> String {
        let (value, source) = values[key]!
        guard !value.isEmpty else { throw .invalidValue(key: key, value: value, expected: "a non-empty string", source: source) }
        return value
    }

    func integer(_ key: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        let (value, source) = values[key]!
        guard let number = Int(value), range.contains(number) else {
            throw .invalidValue(key: key, value: value, expected: "an integer from \(range.lowerBound) to \(range.upperBound)",
                                source: source)
        }
        return number
    }

    /// A number of seconds, or 0 for "off" (`nil`).
    func secondsOrOff(_ key: String) throws(ConfigurationError) -> Duration? {
        if let number = Double(values[key]!.value), number == 0 { return nil }
        return try seconds(key)
    }

    func seconds(_ key: String) throws(ConfigurationError) -> Duration {
        let (value, source) = values[key]!
        guard let number = Double(value), number.isFinite, number > 0, number <= 86_400 * 365 else {
            throw .invalidValue(key: key, value: value, expected: "a number of seconds above 0", source: source)
        }
        return .milliseconds(Int64((number * 1000).rounded()))
    }

    func boolean(_ key: String) throws(ConfigurationError) -> Bool {
        let (value, source) = values[key]!
        switch value.lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw .invalidValue(key: key, value: value, expected: "true or false", source: source)
        }
    }

    /// `server.tls.*`: nil without a certificate file; a certificate needs its key, and the other
    /// way round.
    func serverTLS() throws(ConfigurationError) -> ServerTLSSettings? {
        let certificate = try string("server.tls.cert_file"), key = try string("server.tls.key_file")
        let clientCA = try string("server.tls.client_ca_file")
        let versionText = try string("server.tls.min_version")
        guard let version = TLSMinimumVersion(rawValue: versionText) else {
            throw .invalidValue(key: "server.tls.min_version", value: versionText, expected: "1.2 or 1.3",
                                source: values["server.tls.min_version"]!.source)
        }
        switch (certificate.isEmpty, key.isEmpty) {
        case (true, true):
            guard clientCA.isEmpty else {
                throw .invalidValue(key: "server.tls.client_ca_file", value: clientCA,
                                    expected: "server.tls.cert_file and key_file set as well (mTLS needs TLS)",
                                    source: values["server.tls.client_ca_file"]!.source)
            }
            return nil
        case (false, true):
            throw .invalidValue(key: "server.tls.key_file", value: "", expected: "the private key of server.tls.cert_file",
                                source: values["server.tls.key_file"]!.source)
        case (true, false):
            throw .invalidValue(key: "server.tls.cert_file", value: "", expected: "the certificate of server.tls.key_file",
                                source: values["server.tls.cert_file"]!.source)
        case (false, false):
            return ServerTLSSettings(certificateFile: certificate, privateKeyFile: key,
                                     clientCAFile: clientCA.isEmpty ? nil : clientCA, minimumVersion: version)
        }
    }

    /// `milvus.tls*`: nil unless `milvus.tls` is true; a client certificate needs its key.
    func milvusTLS() throws(ConfigurationError) -> MilvusTLSSettings? {
        let certificate = try string("milvus.tls_cert_file"), key = try string("milvus.tls_key_file")
        guard try boolean("milvus.tls") else { return nil }
        guard certificate.isEmpty == key.isEmpty else {
            let missing = certificate.isEmpty ? "milvus.tls_cert_file" : "milvus.tls_key_file"
            throw .invalidValue(key: missing, value: "", expected: "set together with \(certificate.isEmpty ? "milvus.tls_key_file" : "milvus.tls_cert_file")",
                                source: values[missing]!.source)
        }
        let ca = try string("milvus.tls_ca_file"), name = try string("milvus.tls_server_name")
        return MilvusTLSSettings(caFile: ca.isEmpty ? nil : ca, serverName: name.isEmpty ? nil : name,
                                 certificateFile: certificate.isEmpty ? nil : certificate,
                                 privateKeyFile: key.isEmpty ? nil : key)
    }

    /// `host:port` entries, comma-separated (`[v6::addr]:port` for IPv6).
    func endpoints(_ key: String) throws(ConfigurationError) -> [MilvusEndpoint] {
        let (value, source) = values[key]!
        var endpoints: [MilvusEndpoint] = []
        for entry in value.split(separator: ",").map({ String($0).trimmingSpaces }) where !entry.isEmpty {
            guard let colon = entry.lastIndex(of: ":"), let port = Int(entry[entry.index(after: colon)...]),
                  (1...65535).contains(port), colon != entry.startIndex else {
                throw .invalidValue(key: key, value: entry, expected: "host:port entries, comma-separated", source: source)
            }
            var host = String(entry[..<colon])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            endpoints.append(MilvusEndpoint(host: host, port: port))
        }
        guard !endpoints.isEmpty else {
            throw .invalidValue(key: key, value: value, expected: "at least one host:port", source: source)
        }
        return endpoints
    }

    /// `tracing.*`: nil without an endpoint; one `host:port`, optionally written `http://host:port`.
    func tracing() throws(ConfigurationError) -> TracingSettings? {
        let (value, source) = values["tracing.otlp_endpoint"]!
        var endpoint = value.trimmingSpaces
        guard !endpoint.isEmpty else { return nil }
        if endpoint.hasPrefix("http://") { endpoint.removeFirst("http://".count) }
        if endpoint.hasSuffix("/") { endpoint.removeLast() }
        guard !endpoint.hasPrefix("https://"), !endpoint.contains(","), !endpoint.contains("/") else {
            throw .invalidValue(key: "tracing.otlp_endpoint", value: value,
                                expected: "one plaintext OTLP/gRPC host:port (TLS to the collector is not supported)",
                                source: source)
        }
        let target = try ValueReader(values: ["tracing.otlp_endpoint": (endpoint, source)]).endpoints("tracing.otlp_endpoint")[0]
        let (ratioText, ratioSource) = values["tracing.sample_ratio"]!
        guard let ratio = Double(ratioText), ratio >= 0, ratio <= 1 else {
            throw .invalidValue(key: "tracing.sample_ratio", value: ratioText, expected: "a number from 0 to 1",
                                source: ratioSource)
        }
        return TracingSettings(host: target.host, port: target.port, sampleRatio: ratio,
                               serviceName: try nonEmptyString("tracing.service_name"))
    }

    /// `name:role:sha256-hex` entries, comma-separated. Errors name the entry, never a whole list.
    func apiKeys(_ key: String) throws(ConfigurationError) -> [APIKey] {
        let (value, source) = values[key]!
        var keys: [APIKey] = []
        for entry in value.split(separator: ",").map({ String($0).trimmingSpaces }) where !entry.isEmpty {
            let parts = entry.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 3, !parts[0].isEmpty, let role = Role(name: parts[1]), let hash = Self.hex(parts[2]),
                  hash.count == 32 else {
                throw .invalidValue(key: key, value: parts.first.map { "entry '\($0):…'" } ?? entry,
                                    expected: "name:role:sha256-hex (role read, write or admin; 64 hex digits)", source: source)
            }
            guard !keys.contains(where: { $0.name == parts[0] }) else {
                throw .invalidValue(key: key, value: "entry '\(parts[0]):…'", expected: "unique key names", source: source)
            }
            keys.append(APIKey(name: parts[0], sha256: hash, role: role))
        }
        return keys
    }

    private static func hex(_ text: String) -> [UInt8]? {
        let digits = Array(text.lowercased().utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        default: nil
        }
    }

    func logLevel(_ key: String) throws(ConfigurationError) -> Logger.Level {
        let (value, source) = values[key]!
        guard let level = Logger.Level(rawValue: value.lowercased()) else {
            let names = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
            throw .invalidValue(key: key, value: value, expected: "one of \(names)", source: source)
        }
        return level
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var text = Substring(self)
        while text.first?.isWhitespace == true { text.removeFirst() }
        while text.last?.isWhitespace == true { text.removeLast() }
        return String(text)
    }
}
