import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The W3C trace context of one call (`traceparent`, `tracestate`: www.w3.org/TR/trace-context),
/// and its request id, available to everything the call runs through ``current``.
///
/// A call that brings a valid `traceparent` continues that trace: its request id is the trace
/// id, and each call vdbm makes for it (to Milvus) goes out as a child span with a span id of its
/// own. A call without one starts a trace of its own. The ids join logs across processes; with
/// tracing on (``sample(by:)``), a sampled call also carries the ``SpanRecorder`` its spans go to.
public struct TraceContext: Sendable {
    /// The trace id's 128 bits (never both zero).
    public private(set) var traceHigh: UInt64
    public private(set) var traceLow: UInt64
    /// The caller's span (the `parent-id` it sent), if it sent one.
    public var parentSpanID: UInt64?
    /// `trace-flags` (bit 0: sampled), passed on as received.
    public var flags: UInt8
    /// `tracestate`, passed on as received.
    public var state: String?
    /// The call's request id: the client's `x-request-id`, else the trace id, else one made up.
    public var requestID: String
    /// The call's own span (the parent of what vdbm does for it), once sampled; 0 otherwise.
    public private(set) var spanID: UInt64 = 0
    /// Where the call's spans go: set on a sampled call only, so unsampled calls and a daemon
    /// without tracing record nothing.
    public private(set) var recorder: SpanRecorder?

    /// The context of the call now running, if any (set by the server around each handler).
    @TaskLocal public static var current: TraceContext?

    /// A context that continues `traceparent` when it is valid, or starts a new trace.
    /// - Parameters:
    ///   - traceparent: the request's `traceparent` header, if any.
    ///   - tracestate: its `tracestate`, kept only with a valid `traceparent`.
    ///   - requestID: the client's own request id; without one, the trace id of a continued
    ///     trace, else `fallbackRequestID`.
    public init(traceparent: String?, tracestate: String? = nil, requestID: String?, fallbackRequestID: String) {
        if let traceparent, let parsed = Self.parse(traceparent) {
            (traceHigh, traceLow, parentSpanID, flags) = (parsed.high, parsed.low, parsed.parent, parsed.flags)
            state = tracestate
            self.requestID = requestID ?? Self.hex(parsed.high) + Self.hex(parsed.low)
        } else {
            (traceHigh, traceLow) = Self.newTraceID()
            (parentSpanID, flags, state) = (nil, 0, nil)
            self.requestID = requestID ?? fallbackRequestID
        }
    }

    /// The trace id as 32 lowercase hex digits.
    public var traceIDHex: String { Self.hex(traceHigh) + Self.hex(traceLow) }

    /// A `traceparent` for a call made on behalf of this one: same trace, a new span id.
    public func childTraceparent() -> String { traceparent(spanID: Self.newSpanID()) }

    /// A `traceparent` naming `spanID` in this trace (a child span vdbm records itself).
    public func traceparent(spanID: UInt64) -> String {
        "00-\(traceIDHex)-\(Self.hex(spanID))-\(Self.hex(UInt64(flags), digits: 2))"
    }

    // MARK: Sampling

    /// Decides whether this call is traced, as OpenTelemetry's parent-based sampler does: a
    /// continued trace follows its caller's `sampled` flag; a new one is sampled at the
    /// recorder's ratio (and says so in the flags it passes on). `nil`: tracing is off.
    public mutating func sample(by recorder: SpanRecorder?) {
        guard let recorder else { return }
        let sampled = parentSpanID == nil ? recorder.samples(traceHigh: traceHigh, traceLow: traceLow) : flags & 1 == 1
        guard sampled else { return }
        flags |= 1
        spanID = Self.newSpanID()
        self.recorder = recorder
    }

    /// A new trace for work done on behalf of several calls (a merged search or write): sampled,
    /// recording to `recorder`; its request id is its trace id.
    public static func batch(recorder: SpanRecorder) -> TraceContext {
        var trace = TraceContext(traceparent: nil, requestID: nil, fallbackRequestID: "")
        trace.requestID = trace.traceIDHex
        trace.flags = 1
        trace.spanID = newSpanID()
        trace.recorder = recorder
        return trace
    }

    // MARK: Parsing

    /// `version-traceid-parentid-flags`: version 00 exactly as specified; a later version
    /// (not `ff`) by its first four fields, as the specification asks. Trace and parent ids must
    /// not be all zeros; hex digits are lowercase.
    public static func parse(_ header: String) -> (high: UInt64, low: UInt64, parent: UInt64, flags: UInt8)? {
        let bytes = Array(header.utf8)
        guard bytes.count >= 55, bytes[2] == UInt8(ascii: "-"), bytes[35] == UInt8(ascii: "-"),
              bytes[52] == UInt8(ascii: "-"),
              let version = hexValue(bytes[0..<2]), version != 0xFF,
              version != 0 || bytes.count == 55,
              version == 0 || bytes.count == 55 || bytes[55] == UInt8(ascii: "-"),
              let high = hexValue(bytes[3..<19]), let low = hexValue(bytes[19..<35]), high != 0 || low != 0,
              let parent = hexValue(bytes[36..<52]), parent != 0,
              let flags = hexValue(bytes[53..<55]) else { return nil }
        return (high, low, parent, UInt8(flags))
    }

    private static func hexValue(_ digits: ArraySlice<UInt8>) -> UInt64? {
        var value: UInt64 = 0
        for digit in digits {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = value << 4 | UInt64(digit - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = value << 4 | UInt64(digit - UInt8(ascii: "a") + 10)
            default: return nil
            }
        }
        return value
    }

    public static func hex(_ value: UInt64, digits: Int = 16) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }

    // MARK: New ids

    /// Ids are a per-process random prefix and a counter: unique within the process, different
    /// across processes, and no random draw (a system call) per call.
    private static let salt: (UInt64, UInt64) = {
        var generator = SystemRandomNumberGenerator()
        return (generator.next() | 1, generator.next())
    }()
    private static let counter = Atomic<UInt64>(0)

    private static func newTraceID() -> (UInt64, UInt64) {
        let sequence = counter.wrappingAdd(1, ordering: .relaxed).newValue
        return (salt.0, salt.1 ^ sequence)
    }

    /// A span id, unique within the process (never 0).
    public static func newSpanID() -> UInt64 {
        let sequence = counter.wrappingAdd(1, ordering: .relaxed).newValue
        let id = (salt.1 &* 0x9E37_79B9_7F4A_7C15) ^ sequence
        return id == 0 ? 1 : id
    }
}
