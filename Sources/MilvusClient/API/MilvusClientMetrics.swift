import CoreMetrics
import Synchronization

/// What the Milvus client counts through swift-metrics: calls per endpoint, method and outcome,
/// their latency (retries and waits included), retries, and calls the retry budget stopped.
///
/// Label values are bounded: endpoints come from the configuration, methods from this client's
/// own list, outcomes from ``VectorDBError/kind`` (or `ok`).
final class MilvusClientMetrics: Sendable {
    static let callsLabel = "vdbm_milvus_calls_total"
    static let durationLabel = "vdbm_milvus_call_duration_seconds"
    static let retriesLabel = "vdbm_milvus_retries_total"
    static let budgetRefusalsLabel = "vdbm_milvus_retry_budget_refusals_total"

    private struct Key: Hashable {
        var label: String
        var dimensions: [String]
    }

    private let factory: any MetricsFactory
    private let counters = Mutex<[Key: Counter]>([:])
    private let timers = Mutex<[Key: Timer]>([:])

    init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
    }

    func callEnded(endpoint: String, method: String, outcome: String, duration: Duration) {
        counter(Self.callsLabel, [("endpoint", endpoint), ("method", method), ("outcome", outcome)]).increment()
        let (seconds, attoseconds) = duration.components
        timer(Self.durationLabel, [("endpoint", endpoint), ("method", method)])
            .recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    func retried(endpoint: String, method: String) {
        counter(Self.retriesLabel, [("endpoint", endpoint), ("method", method)]).increment()
    }

    func refusedByBudget(endpoint: String, method: String) {
        counter(Self.budgetRefusalsLabel, [("endpoint", endpoint), ("method", method)]).increment()
    }

    private func counter(_ label: String, _ dimensions: [(String, String)]) -> Counter {
        Self.cached(counters, Key(label: label, dimensions: dimensions.map(\.1))) {
            Counter(label: label, dimensions: dimensions, factory: factory)
        }
    }

    private func timer(_ label: String, _ dimensions: [(String, String)]) -> Timer {
        Self.cached(timers, Key(label: label, dimensions: dimensions.map(\.1))) {
            Timer(label: label, dimensions: dimensions, factory: factory)
        }
    }

    /// The metric kept for `key`, made (outside the lock) the first time.
    private static func cached<Metric: Sendable>(_ cache: borrowing Mutex<[Key: Metric]>, _ key: Key,
                                                 make: () -> Metric) -> Metric {
        if let known = cache.withLock({ $0[key] }) { return known }
        let made = make()
        return cache.withLock { cache in
            if let raced = cache[key] { return raced }
            cache[key] = made
            return made
        }
    }
}
