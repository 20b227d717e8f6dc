import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `LogHandler` that writes one JSON object per line: `ts`, `level`, `msg`, `logger`, then the
/// metadata as top-level fields.
///
/// The daemon hands lines to a ``LogLineWriter``, which writes them from its own thread, many per
/// `write(2)`; a line written straight to a descriptor leaves in a single `write(2)`. Either way
/// lines from different threads never interleave and no lock is held around the I/O.
public struct JSONLogHandler: LogHandler {
    /// The level set on this handler (through its logger), else the shared setting's.
    public var logLevel: Logger.Level {
        get { ownLevel ?? sharedLevel?.level ?? .info }
        set { ownLevel = newValue }
    }
    private var ownLevel: Logger.Level?
    private let sharedLevel: LogLevelSetting?
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    private let label: String
    private let output: Output

    private enum Output {
        case fileDescriptor(Int32)
        case writer(LogLineWriter)
        case sink(@Sendable (String) -> Void)
    }

    /// Creates a handler that writes to `fileDescriptor` (standard output by default).
    public init(label: String, level: Logger.Level, fileDescriptor: Int32 = 1) {
        self.label = label
        self.ownLevel = level
        self.sharedLevel = nil
        self.output = .fileDescriptor(fileDescriptor)
    }

    /// Creates a handler that queues every line on `writer` (the daemon's choice: no `write(2)` on
    /// the caller's thread), at the level `level` holds now and later.
    public init(label: String, level: LogLevelSetting, writer: LogLineWriter) {
        self.label = label
        self.ownLevel = nil
        self.sharedLevel = level
        self.output = .writer(writer)
    }

    /// Creates a handler that hands every finished line (newline included) to `sink`; tests use it.
    public init(label: String, level: Logger.Level, sink: @escaping @Sendable (String) -> Void) {
        self.label = label
        self.ownLevel = level
        self.sharedLevel = nil
        self.output = .sink(sink)
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if merged.isEmpty, metadataProvider == nil {
            merged = event.metadata ?? [:]  // the common case: nothing to merge
        } else {
            if let provided = metadataProvider?.get() {
                merged.merge(provided) { _, new in new }
            }
            if let extra = event.metadata {
                merged.merge(extra) { _, new in new }
            }
        }
        if let error = event.error {
            merged["error"] = .string(String(describing: error))
        }
        let line = Self.formatBytes(timestamp: Self.timestamp(), level: event.level,
                                    message: event.message.description, label: label, metadata: merged)
        switch output {
        case .fileDescriptor(let descriptor): LogLineWriter.writeAll(line, to: descriptor)
        case .writer(let writer): writer.submit(line)
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
        JSONString.appendRaw(#"{"ts":""#, to: &out)
        out.append(contentsOf: timestamp.utf8)
        JSONString.appendRaw(#"","level":""#, to: &out)
        out.append(contentsOf: level.rawValue.utf8)
        JSONString.appendRaw(#"","msg":"#, to: &out)
        JSONString.append(message, to: &out)
        JSONString.appendRaw(#","logger":"#, to: &out)
        JSONString.append(label, to: &out)
        for key in metadata.keys.sorted() where !Self.reservedKeys.contains(key) {
            out.append(UInt8(ascii: ","))
            JSONString.append(key, to: &out)
            out.append(UInt8(ascii: ":"))
            append(metadata[key]!, to: &out)
        }
        JSONString.appendRaw("}\n", to: &out)
        return out
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
        var bytes: [UInt8] = []
        LogTimestamp.appendNow(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}
