/// Outlier ejection across Milvus endpoints, as a value type with instants given by the caller
/// (tested without a clock), after Envoy's outlier detection. A connection can be up and still
/// fail its calls (a proxy whose query nodes are gone, a hung process the PINGs have not caught
/// yet); this takes such an endpoint out of rotation:
/// - it is ejected after `consecutiveFailures` failed calls in a row, or when at least half of at
///   least `minimumCalls` calls in the current window failed;
/// - for `baseEjection`, doubled for each ejection in a row (at most `maxEjection`);
/// - then one call is let through (half-open): its success brings the endpoint back, its failure
///   ejects it again;
/// - never the last endpoint still in rotation: with every other one ejected, failures are
///   counted but the endpoint stays.
/// Calls answered by Milvus count as successes whatever their status (the endpoint works);
/// transport failures, deadlines and Milvus's "come back later" statuses count as failures.
public struct OutlierDetector: Sendable {
    public typealias Instant = ContinuousClock.Instant

    public struct Policy: Sendable, Hashable {
        public var consecutiveFailures: Int
        public var failureRate: Double
        public var minimumCalls: Int
        public var window: Duration
        public var baseEjection: Duration
        public var maxEjection: Duration

        public init(consecutiveFailures: Int = 5, failureRate: Double = 0.5, minimumCalls: Int = 20,
                    window: Duration = .seconds(10), baseEjection: Duration = .seconds(5), maxEjection: Duration = .seconds(60)) {
            self.consecutiveFailures = max(1, consecutiveFailures)
            self.failureRate = failureRate
            self.minimumCalls = max(1, minimumCalls)
            self.window = window
            self.baseEjection = baseEjection
            self.maxEjection = max(baseEjection, maxEjection)
        }
    }

    enum Phase: Equatable, Sendable {
        case inRotation
        case ejected(until: Instant)
        /// The ejection is over and one call is on its way to decide (if it never reports, say it
        /// was cancelled, another probe goes after a window).
        case probing(since: Instant)
    }

    struct Endpoint: Sendable {
        var phase: Phase = .inRotation
        var consecutive = 0
        var ejections = 0
        var windowStart: Instant
        var calls = 0
        var failures = 0
    }

    /// What `record` changed, for the log.
    public enum Change: Sendable, Hashable {
        case ejected(endpoint: Int, for: Duration)
        case restored(endpoint: Int)
    }

    public let policy: Policy
    private(set) var endpoints: [Endpoint]

    public init(endpoints count: Int, policy: Policy = Policy(), now: Instant) {
        self.policy = policy
        endpoints = Array(repeating: Endpoint(windowStart: now), count: count)
    }

    /// Which endpoints a call may go to now, and whether it is the probe of one (then it must go
    /// there: the probe is taken as this call's).
    public mutating func route(now: Instant) -> (allowed: [Bool], probe: Int?) {
        var allowed = endpoints.map { $0.phase == .inRotation }
        for index in endpoints.indices {
            let due = switch endpoints[index].phase {
            case .ejected(let until): until <= now
            case .probing(let since): since + policy.window <= now
            case .inRotation: false
            }
            if due {
                endpoints[index].phase = .probing(since: now)
                allowed[index] = true
                return (allowed, index)
            }
        }
        return (allowed, nil)
    }

    /// The outcome of a call on `endpoint`.
    public mutating func record(_ endpoint: Int, success: Bool, now: Instant) -> Change? {
        guard endpoints.indices.contains(endpoint) else { return nil }
        var state = endpoints[endpoint]
        if state.windowStart + policy.window <= now {
            (state.windowStart, state.calls, state.failures) = (now, 0, 0)
        }
        state.calls += 1
        if success {
            state.consecutive = 0
        } else {
            state.consecutive += 1
            state.failures += 1
        }
        defer { endpoints[endpoint] = state }
        switch state.phase {
        case .probing where success:
            (state.phase, state.ejections) = (.inRotation, 0)
            (state.windowStart, state.calls, state.failures) = (now, 0, 0)
            return .restored(endpoint: endpoint)
        case .probing:
            return eject(&state, endpoint, now: now)
        case .ejected:
            return nil  // a call that left before the ejection
        case .inRotation:
            let rateExceeded = state.calls >= policy.minimumCalls
                && Double(state.failures) >= policy.failureRate * Double(state.calls)
            guard !success, state.consecutive >= policy.consecutiveFailures || rateExceeded else { return nil }
            let othersInRotation = endpoints.indices.contains { $0 != endpoint && endpoints[$0].phase == .inRotation }
            guard othersInRotation else { return nil }
            return eject(&state, endpoint, now: now)
        }
    }

    private func eject(_ state: inout Endpoint, _ endpoint: Int, now: Instant) -> Change {
        var duration = policy.baseEjection
        for _ in 0..<min(state.ejections, 16) { duration = min(duration * 2, policy.maxEjection) }
        state.ejections += 1
        state.phase = .ejected(until: now + duration)
        (state.consecutive, state.windowStart, state.calls, state.failures) = (0, now, 0, 0)
        return .ejected(endpoint: endpoint, for: duration)
    }
}
