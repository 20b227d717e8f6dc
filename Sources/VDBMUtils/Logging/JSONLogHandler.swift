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
    private let output: Output

    private enum Output {
        case fileDescriptor(Int32)
        case sink(@Sendable (String) -> Void)
    }

    /// Creates a handler that writes to `fileDescriptor` (standard output by default).
    public init(label: String, level: Logger.Level, fileDescriptor: Int32 = 1) {
        self.label = label
        self.logLevel = level
        self.output = .fileDescriptor(fileDescriptor)
    }

    /// Creates a handler that hands every finished line (newline included) to `sink`; tests use it.
    public init(label: String, level: Logger.Level, sink: @escaping @Sendable (String) -> Void) {
        self.label = label
        self.logLevel = level
        self.output = .sink(sink)
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
        let line = Self.formatBytes(timestamp: Self.timestamp(), level: event.level,
                                    message: event.message.description, label: label, metadata: merged)
        switch output {
        case .fileDescriptor(let descriptor): Self.writeAll(line, to: descriptor)
        case .sink(let sink): sink(String(decoding: line, as: UTF8.self))
        }
    }

    /// Formats one log line; `metadata` keys are written in sorted order so lines are stable.
    public static func format(timestamp: String, level: Logger.Level, message: String, label: String,
                              metadata: Logger.Metadata) -> String {
        String(decoding: formatBytes(timestamp: timestamp, level: level, message: message, label: label,
                                     metadata: metadata), as: UTF8.self)
    }

    static func formatBytes(timestamp: String, level: Logger.Level, message: String, label: String,
                            metadata: Logger.Metadata) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        out.append(contentsOf: #"{"ts":""#.utf8)
        out.append(contentsOf: timestamp.utf8)
        out.append(contentsOf: #"","level":""#.utf8)
        out.append(contentsOf: level.rawValue.utf8)
        out.append(contentsOf: #"","msg":"#.utf8)
        JSONString.append(message, to: &out)
        out.append(contentsOf: #","logger":"#.utf8)
        JSONString.append(label, to: &out)
        for key in metadata.keys.sorted() where !Self.reservedKeys.contains(key) {
            out.append(UInt8(ascii: ","))
            JSONString.append(key, to: &out)
            out.append(UInt8(ascii: ":"))
            append(metadata[key]!, to: &out)
        }
        out.append(contentsOf: "}\n".utf8)
        return out
    }

    /// One `write(2)` per line in the common case, so lines from different threads never interleave.
    private static func writeAll(_ line: [UInt8], to descriptor: Int32) {
        line.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 {
                    if written < 0 && errno == EINTR { continue }
                    return  // A log sink that cannot take the line must not take the daemon down.
                }
                offset += written
            }
        }
    }

    private static let reservedKeys: Set<String> = ["ts", "level", "msg", "logger"]

    private static func append(_ value: Logger.Metadata.Value, to out: inout [UInt8]) {
        switch value {
        case .string(let string):
            JSONString.append(string, to: &out)
        case .stringConvertible(let convertible):
            // Numbers and booleans stay JSON numbers and booleans; anything else becomes a string.
            switch convertible {
            case let number as any BinaryInteger: out.append(contentsOf: String(describing: number).utf8)
            case let number as Double where number.isFinite: out.append(contentsOf: String(number).utf8)
            case let flag as Bool: out.append(contentsOf: (flag ? "true" : "false").utf8)
            default: JSONString.append(convertible.description, to: &out)
            }
        case .array(let values):
            out.append(UInt8(ascii: "["))
            for (index, element) in values.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                append(element, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .dictionary(let dictionary):
            out.append(UInt8(ascii: "{"))
            for (index, key) in dictionary.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONString.append(key, to: &out)
                out.append(UInt8(ascii: ":"))
                append(dictionary[key]!, to: &out)
            }
            out.append(UInt8(ascii: "}"))
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
