import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `LogHandler` that writes one JSON object per line: `ts`, `level`, `msg`, `logger`, then the
/// metadata as top-level fields.
///
/// Each line leaves in a single `write(2)`, so lines from different threads never interleave and
/// no lock is held around the I/O.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    private let label: String
    private let sink: @Sendable (String) -> Void

    /// Creates a handler that writes to `fileDescriptor` (standard output by default).
    public init(label: String, level: Logger.Level, fileDescriptor: Int32 = 1) {
        self.init(label: label, level: level) { line in
            var line = line
            line.withUTF8 { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = write(fileDescriptor, bytes.baseAddress! + offset, bytes.count - offset)
                    if written <= 0 {
                        if written < 0 && errno == EINTR { continue }
                        return  // A log sink that cannot take the line must not take the daemon down.
                    }
                    offset += written
                }
            }
        }
    }

    /// Creates a handler that hands every finished line (newline included) to `sink`; tests use it.
    public init(label: String, level: Logger.Level, sink: @escaping @Sendable (String) -> Void) {
        self.label = label
        self.logLevel = level
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() {
            merged.merge(provided) { _, new in new }
        }
        if let extra = event.metadata {
            merged.merge(extra) { _, new in new }
        }
        if let error = event.error {
            merged["error"] = .string(String(describing: error))
        }
        sink(Self.format(timestamp: Self.timestamp(), level: event.level, message: event.message.description,
                         label: label, metadata: merged))
    }

    /// Formats one log line; `metadata` keys are written in sorted order so lines are stable.
    public static func format(timestamp: String, level: Logger.Level, message: String, label: String,
                              metadata: Logger.Metadata) -> String {
        var out = "{\"ts\":\""
        out += timestamp
        out += "\",\"level\":\""
        out += level.rawValue
        out += "\",\"msg\":"
        JSONString.append(message, to: &out)
        out += ",\"logger\":"
        JSONString.append(label, to: &out)
        for key in metadata.keys.sorted() where !Self.reservedKeys.contains(key) {
            out += ","
            JSONString.append(key, to: &out)
            out += ":"
            append(metadata[key]!, to: &out)
        }
        out += "}\n"
        return out
    }

    private static let reservedKeys: Set<String> = ["ts", "level", "msg", "logger"]

    private static func append(_ value: Logger.Metadata.Value, to out: inout String) {
        switch value {
        case .string(let string):
            JSONString.append(string, to: &out)
        case .stringConvertible(let convertible):
            // Numbers and booleans stay JSON numbers and booleans; anything else becomes a string.
            switch convertible {
            case let number as any BinaryInteger: out += String(describing: number)
            case let number as Double where number.isFinite: out += String(number)
            case let flag as Bool: out += flag ? "true" : "false"
            default: JSONString.append(convertible.description, to: &out)
            }
        case .array(let values):
            out += "["
            for (index, element) in values.enumerated() {
                if index > 0 { out += "," }
                append(element, to: &out)
            }
            out += "]"
        case .dictionary(let dictionary):
            out += "{"
            for (index, key) in dictionary.keys.sorted().enumerated() {
                if index > 0 { out += "," }
                JSONString.append(key, to: &out)
                out += ":"
                append(dictionary[key]!, to: &out)
            }
            out += "}"
        }
    }

    /// UTC time as RFC 3339 with milliseconds, e.g. `2026-11-26T15:08:28.123Z`.
    static func timestamp() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var seconds = spec.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))."
            + "\(pad(Int32(spec.tv_nsec / 1_000_000), 3))Z"
    }
}
