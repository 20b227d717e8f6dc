import Histogram

/// What a run measured: calls by outcome, throughput and latency percentiles.
public struct BenchReport: Sendable {
    public var plan: BenchPlan
    /// The measured phase only (warmup excluded).
    public var elapsed: Duration
    /// Latencies in microseconds, every finished call included.
    public var latency: Histogram<UInt64>
    /// Calls by outcome: gRPC status names (`OK`, `DEADLINE_EXCEEDED`, ...), `MILVUS_<code>` for a
    /// Milvus response whose status is an error, `TRANSPORT` for calls that got no status.
    public var outcomes: [String: Int]
    /// Calls finished in each `slot` of the measured phase, in order (throughput over time).
    public var completions: [Int]

    /// The width of a `completions` slot.
    public static let slot: Duration = .milliseconds(250)
    static var slotSeconds: Double { Double(slot.components.seconds) + Double(slot.components.attoseconds) * 1e-18 }

    public init(plan: BenchPlan, elapsed: Duration, latency: Histogram<UInt64>, outcomes: [String: Int],
                completions: [Int] = []) {
        self.plan = plan
        self.elapsed = elapsed
        self.latency = latency
        self.outcomes = outcomes
        self.completions = completions
    }

    public var calls: Int { outcomes.values.reduce(0, +) }
    public var seconds: Double { Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18 }
    /// Finished calls per second.
    public var qps: Double { seconds > 0 ? Double(calls) / seconds : 0 }
    /// Query vectors searched per second (calls times vectors per call).
    public var vectorsPerSecond: Double { qps * Double(plan.vectorsPerCall) }

    /// Milliseconds at `percentile` (0...100).
    public func milliseconds(at percentile: Double) -> Double {
        latency.totalCount == 0 ? 0 : Double(latency.valueAtPercentile(percentile)) / 1000
    }

    public var maxMilliseconds: Double { latency.totalCount == 0 ? 0 : Double(latency.max) / 1000 }

    /// A table for people.
    public var table: String {
        func ms(_ value: Double) -> String { fixed(value, 3) + " ms" }
        var lines = [
            "target       \(plan.target.rawValue) \(plan.host):\(plan.port), collection \(plan.collection), limit \(plan.limit)",
            "concurrency  \(plan.concurrency) (\(plan.connections) connections x \(plan.streams) streams)",
            "calls        \(calls) in \(fixed(seconds, 2)) s",
            "qps          \(fixed(qps, 1))" + (plan.vectorsPerCall > 1 ? " (\(fixed(vectorsPerSecond, 1)) query vectors/s, "
                + "\(plan.vectorsPerCall) a call)" : ""),
            "latency      p50 \(ms(milliseconds(at: 50)))  p90 \(ms(milliseconds(at: 90)))  p99 \(ms(milliseconds(at: 99)))  "
                + "p99.9 \(ms(milliseconds(at: 99.9)))  max \(ms(maxMilliseconds))",
        ]
        for (outcome, count) in outcomes.sorted(by: { $0.key < $1.key }) {
            lines.append("status       \(outcome): \(count)")
        }
        return lines.joined(separator: "\n")
    }

    /// One JSON object, for scripts.
    public var json: String {
        func number(_ value: Double) -> String { fixed(value, 3) }
        let outcomeList = outcomes.sorted(by: { $0.key < $1.key }).map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ")
        return """
            {"target": "\(plan.target.rawValue)", "address": "\(plan.host):\(plan.port)", "collection": "\(plan.collection)", \
            "concurrency": \(plan.concurrency), "connections": \(plan.connections), "streams": \(plan.streams), \
            "calls": \(calls), "seconds": \(number(seconds)), "qps": \(number(qps)), \
            "vectors_per_call": \(plan.vectorsPerCall), "vectors_per_second": \(number(vectorsPerSecond)), \
            "p50_ms": \(number(milliseconds(at: 50))), "p90_ms": \(number(milliseconds(at: 90))), \
            "p99_ms": \(number(milliseconds(at: 99))), "p999_ms": \(number(milliseconds(at: 99.9))), \
            "max_ms": \(number(maxMilliseconds)), "outcomes": {\(outcomeList)}}
            """
    }
}

/// `value` with `digits` decimals (no Foundation in the daemon's targets).
func fixed(_ value: Double, _ digits: Int) -> String {
    guard value.isFinite else { return "\(value)" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    let whole = Int64(scaled / scale)
    var fraction = String(Int64(scaled) - whole * Int64(scale))
    while fraction.count < digits { fraction = "0" + fraction }
    let sign = value < 0 && scaled != 0 ? "-" : ""
    return digits == 0 ? "\(sign)\(whole)" : "\(sign)\(whole).\(fraction)"
}
