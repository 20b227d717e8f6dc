import Logging

#if canImport(Glibc)
import Glibc
#endif

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
    public var logLevel: Logger.Level
    public var accessLog: Bool

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
        shutdownGrace = try reader.seconds("server.shutdown_grace_seconds")
        logLevel = try reader.logLevel("logging.level")
        accessLog = try reader.boolean("logging.access_log")
    }

    private static func readFile(_ path: String) throws(ConfigurationError) -> String {
        guard let file = fopen(path, "rb") else {
            throw .unreadableFile(path: path, reason: String(cString: strerror(errno)))
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count <= 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        if ferror(file) != 0 { throw .unreadableFile(path: path, reason: "read error") }
        return String(decoding: bytes, as: UTF8.self)
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
