/// The time the pool's timers run on: Swift's continuous clock in production, a clock the test
/// moves by hand in tests (so waiter deadlines and reconnect backoffs are tested without sleeping).
/// Instants are continuous-clock instants either way, comparable with calls' deadlines.
public protocol PoolClock: Sendable {
    var now: ContinuousClock.Instant { get }
    /// Returns at `instant`, or throws `CancellationError` when the task is cancelled first.
    func sleep(until instant: ContinuousClock.Instant) async throws
}

/// The real one.
public struct ContinuousPoolClock: PoolClock {
    public init() {}

    public var now: ContinuousClock.Instant { .now }

    public func sleep(until instant: ContinuousClock.Instant) async throws {
        try await Task.sleep(until: instant, clock: .continuous)
    }
}
