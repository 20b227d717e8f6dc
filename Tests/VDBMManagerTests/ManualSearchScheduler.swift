import Synchronization
import VDBMManager

/// A coalescer scheduler whose time the test moves by hand: timers fire only when `advance`
/// passes their instant, and the coalescer's waits and deadlines read this time.
final class ManualSearchScheduler: SearchCoalescerScheduler {
    private struct State {
        var now: ContinuousClock.Instant
        var timers: [Int: (instant: ContinuousClock.Instant, body: @Sendable () -> Void)] = [:]
        var nextID = 0
    }

    private let state: Mutex<State>

    init(now: ContinuousClock.Instant = .now) {
        state = Mutex(State(now: now))
    }

    var now: ContinuousClock.Instant { state.withLock { $0.now } }

    /// Timers armed and not yet fired or cancelled.
    var armedTimers: Int { state.withLock { $0.timers.count } }

    func executorForBatch() -> (any TaskExecutor)? { nil }

    func schedule(at instant: ContinuousClock.Instant, _ body: @escaping @Sendable () -> Void) -> @Sendable () -> Void {
        let id = state.withLock { state in
            state.nextID += 1
            state.timers[state.nextID] = (instant, body)
            return state.nextID
        }
        return { [weak self] in _ = self?.state.withLock { $0.timers.removeValue(forKey: id) } }
    }

    /// Moves time on and fires every timer that is due.
    func advance(by duration: Duration) {
        let due = state.withLock { state -> [@Sendable () -> Void] in
            state.now = state.now + duration
            let ids = state.timers.filter { $0.value.instant <= state.now }.map(\.key)
            return ids.compactMap { state.timers.removeValue(forKey: $0)?.body }
        }
        for body in due { body() }
    }
}
