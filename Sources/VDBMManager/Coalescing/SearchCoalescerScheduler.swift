/// Where the coalescer runs what belongs to no caller's task: merged searches (each in a task of
/// its own, so that any member may leave without stopping it for the others) and the regroup
/// timer. The daemon hands it its event loops (`EventLoopSearchScheduler`): there a merged search
/// starts, waits for Milvus and wakes its members on the loop it was decided on, instead of waking
/// a thread of the global pool for each batch and each timer.
public protocol SearchCoalescerScheduler: Sendable {
    /// The time the coalescer decides by (waits, deadlines, timers): the continuous clock's, unless
    /// a test's scheduler moves it by hand.
    var now: ContinuousClock.Instant { get }

    /// The executor the task of the next merged search prefers (`nil`: the global executor).
    func executorForBatch() -> (any TaskExecutor)?

    /// Calls `body` at `instant`, unless the returned cancellation runs first (cancelling late is
    /// harmless: the coalescer ignores a timer that is no longer wanted).
    func schedule(at instant: ContinuousClock.Instant, _ body: @escaping @Sendable () -> Void) -> @Sendable () -> Void
}

extension SearchCoalescerScheduler {
    public var now: ContinuousClock.Instant { .now }
}

/// Swift's global executor and `Task.sleep`: what the coalescer uses when given nothing else
/// (tests, tools).
public struct TaskSearchScheduler: SearchCoalescerScheduler {
    public init() {}

    public func executorForBatch() -> (any TaskExecutor)? { nil }

    public func schedule(at instant: ContinuousClock.Instant, _ body: @escaping @Sendable () -> Void) -> @Sendable () -> Void {
        let task = Task {
            try? await Task.sleep(until: instant, clock: .continuous)
            guard !Task.isCancelled else { return }
            body()
        }
        return { task.cancel() }
    }
}
