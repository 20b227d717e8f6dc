/// The moment by which a call must be answered.
///
/// Every call has one (the client's `grpc-timeout` or the configured default); retries and waits
/// spend from it. It is a plain value on the continuous clock so code above the transport needs
/// no networking types to reason about time.
public struct Deadline: Sendable, Hashable, Comparable {
    /// The instant at which the deadline passes.
    public let instant: ContinuousClock.Instant

    public init(_ instant: ContinuousClock.Instant) {
        self.instant = instant
    }

    /// A deadline `timeout` from now.
    public static func after(_ timeout: Duration, from now: ContinuousClock.Instant = .now) -> Deadline {
        Deadline(now.advanced(by: timeout))
    }

    /// Time left before the deadline passes; zero or negative once it has.
    public func remaining(now: ContinuousClock.Instant = .now) -> Duration {
        now.duration(to: instant)
    }

    /// Whether the deadline has passed.
    public func hasPassed(now: ContinuousClock.Instant = .now) -> Bool {
        instant <= now
    }

    public static func < (lhs: Deadline, rhs: Deadline) -> Bool {
        lhs.instant < rhs.instant
    }
}
