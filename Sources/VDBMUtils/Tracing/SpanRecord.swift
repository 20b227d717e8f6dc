/// One finished span, as vdbm hands it to the exporter: plain values, no OpenTelemetry types.
public struct SpanRecord: Sendable, Equatable {
    /// OpenTelemetry's span kinds that vdbm records (their OTLP numbers).
    public enum Kind: Int32, Sendable {
        case `internal` = 1, server = 2, client = 3
    }

    /// An attribute's value (the OTLP `AnyValue` kinds vdbm uses).
    public enum Value: Sendable, Equatable {
        case string(String)
        case int(Int64)
        case bool(Bool)
    }

    /// Another span this one is about (a merged search's member).
    public struct Link: Sendable, Equatable {
        public var traceHigh: UInt64
        public var traceLow: UInt64
        public var spanID: UInt64

        public init(traceHigh: UInt64, traceLow: UInt64, spanID: UInt64) {
            (self.traceHigh, self.traceLow, self.spanID) = (traceHigh, traceLow, spanID)
        }
    }

    public var traceHigh: UInt64
    public var traceLow: UInt64
    public var spanID: UInt64
    /// 0: a root span.
    public var parentSpanID: UInt64
    public var traceState: String?
    public var name: String
    public var kind: Kind
    /// Wall-clock times, nanoseconds since 1970.
    public var startNanos: UInt64
    public var endNanos: UInt64
    public var attributes: [(key: String, value: Value)]
    public var links: [Link]
    /// `nil`: the span's status is unset (OK); otherwise it failed, and why.
    public var error: String?

    public init(trace: TraceContext, spanID: UInt64, parentSpanID: UInt64, name: String, kind: Kind,
                startNanos: UInt64, endNanos: UInt64 = 0, attributes: [(key: String, value: Value)] = [],
                links: [Link] = [], error: String? = nil) {
        (traceHigh, traceLow, traceState) = (trace.traceHigh, trace.traceLow, trace.state)
        self.spanID = spanID
        self.parentSpanID = parentSpanID
        self.name = name
        self.kind = kind
        self.startNanos = startNanos
        self.endNanos = endNanos
        self.attributes = attributes
        self.links = links
        self.error = error
    }

    public static func == (lhs: SpanRecord, rhs: SpanRecord) -> Bool {
        lhs.traceHigh == rhs.traceHigh && lhs.traceLow == rhs.traceLow && lhs.spanID == rhs.spanID
            && lhs.parentSpanID == rhs.parentSpanID && lhs.traceState == rhs.traceState && lhs.name == rhs.name
            && lhs.kind == rhs.kind && lhs.startNanos == rhs.startNanos && lhs.endNanos == rhs.endNanos
            && lhs.attributes.elementsEqual(rhs.attributes, by: { $0.key == $1.key && $0.value == $1.value })
            && lhs.links == rhs.links && lhs.error == rhs.error
    }
}
