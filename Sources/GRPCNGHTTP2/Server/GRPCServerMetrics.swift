import CoreMetrics
import Synchronization

/// Counts the server's calls through swift-metrics, for whatever backend the executable chose
/// (vdbm's is Prometheus): calls and their latency per method and status code, calls in flight,
/// request and response bytes per method.
///
/// Label values are bounded: the method is a path the router knows, or `unknown`; the code is a
/// gRPC status name, or `HTTP_<status>` for a call refused before gRPC.
///
/// Every call passes through here twice, so the figures live in arrays indexed by the router's
/// method index and the status code: no string is hashed per call. Per-method figures exist from
/// the start (in flight reads 0, not "absent"); a (method, code) pair's are made the first time
/// it occurs, under a lock held only for the slot lookup.
public final class GRPCServerMetrics: CallObserver {
    /// The metric names, under the prefix the executable chose (vdbm's is `vdbm_`).
    public struct Labels: Sendable, Hashable {
        public let calls: String
        public let duration: String
        public let inFlight: String
        public let requestBytes: String
        public let responseBytes: String

        public init(prefix: String) {
            calls = prefix + "grpc_server_calls_total"
            duration = prefix + "grpc_server_call_duration_seconds"
            inFlight = prefix + "grpc_server_calls_in_flight"
            requestBytes = prefix + "grpc_server_request_bytes_total"
            responseBytes = prefix + "grpc_server_response_bytes_total"
        }
    }

    public let labels: Labels

    private struct OutcomeMetrics: Sendable {
        var calls: Counter
        var duration: Timer
    }

    private struct MethodMetrics: Sendable {
        var inFlight: Meter
        var requestBytes: Counter
        var responseBytes: Counter
    }

    private let factory: any MetricsFactory
    /// Method names by index; the last one is `unknown`.
    private let methodNames: [String]
    private let methods: [MethodMetrics]
    /// Slot `method * codeSlots + code`; made on first use.
    private let outcomes: Mutex<[OutcomeMetrics?]>
    /// gRPC codes 0...16, then one slot per HTTP refusal status (405, 415, other).
    private static let codeSlots = 20

    /// - Parameters:
    ///   - methods: the router's ``GRPCRouter/methodPaths``, whose indexes the calls carry.
    ///   - prefix: put before every metric name (`vdbm_` gives `vdbm_grpc_server_calls_total`).
    ///   - factory: the metrics backend (the process's own by default).
    public init(methods: [String], prefix: String, factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
        let labels = Labels(prefix: prefix)
        self.labels = labels
        methodNames = methods + ["unknown"]
        self.methods = methodNames.map { name in
            let dimensions = [("grpc_method", name)]
            return MethodMetrics(
                inFlight: Meter(label: labels.inFlight, dimensions: dimensions, factory: factory),
                requestBytes: Counter(label: labels.requestBytes, dimensions: dimensions, factory: factory),
                responseBytes: Counter(label: labels.responseBytes, dimensions: dimensions, factory: factory))
        }
        outcomes = Mutex(Array(repeating: nil, count: methodNames.count * Self.codeSlots))
    }

    public func callStarted(method: String, index: Int) {
        guard methods.indices.contains(index) else { return }
        methods[index].inFlight.increment()
    }

    public func callFinished(_ record: CallRecord) {
        let method = record.methodIndex.flatMap { methods.indices.contains($0) ? $0 : nil } ?? methods.count - 1
        let (slot, code) = Self.codeSlot(record)
        let outcome = outcomeMetrics(method: method, slot: slot, code: code)
        outcome.calls.increment()
        let (seconds, attoseconds) = record.duration.components
        outcome.duration.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        let perMethod = methods[method]
        if record.methodIndex != nil { perMethod.inFlight.decrement() }
        if record.requestBytes > 0 { perMethod.requestBytes.increment(by: record.requestBytes) }
        if record.responseBytes > 0 { perMethod.responseBytes.increment(by: record.responseBytes) }
    }

    /// The code's slot and its label value.
    private static func codeSlot(_ record: CallRecord) -> (Int, String) {
        if let status = record.status {
            let raw = Int(status.rawValue)
            return ((0...16).contains(raw) ? raw : 16, status.name)
        }
        switch record.httpStatus {
        case 405: return (17, "HTTP_405")
        case 415: return (18, "HTTP_415")
        default: return (19, "HTTP_OTHER")
        }
    }

    private func outcomeMetrics(method: Int, slot: Int, code: String) -> OutcomeMetrics {
        let index = method * Self.codeSlots + slot
        if let known = outcomes.withLock({ $0[index] }) { return known }
        let dimensions = [("grpc_method", methodNames[method]), ("grpc_code", code)]
        let made = OutcomeMetrics(calls: Counter(label: labels.calls, dimensions: dimensions, factory: factory),
                                  duration: Timer(label: labels.duration, dimensions: dimensions, factory: factory))
        return outcomes.withLock { outcomes in
            if let raced = outcomes[index] { return raced }
            outcomes[index] = made
            return made
        }
    }
}
