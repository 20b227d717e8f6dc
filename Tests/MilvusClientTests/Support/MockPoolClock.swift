import MilvusClient
import Synchronization

/// A pool clock the test moves by hand: `sleep(until:)` returns only when `advance` passes its
/// instant (after postgres-nio's `MockClock`).
final class MockPoolClock: PoolClock {
    private struct Sleeper {
        var instant: ContinuousClock.Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: ContinuousClock.Instant
        var sleepers: [Int: Sleeper] = [:]
        var nextID = 0
    }

    private let state: Mutex<State>

    init(now: ContinuousClock.Instant = .now) {
        state = Mutex(State(now: now))
    }

    var now: ContinuousClock.Instant { state.withLock { $0.now } }

    /// Timers armed and not yet due.
    var sleepers: Int { state.withLock { $0.sleepers.count } }

    func sleep(until instant: ContinuousClock.Instant) async throws {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let due = state.withLock { state -> Bool in
                    if instant <= state.now || Task.isCancelled { return true }
                    state.sleepers[id] = Sleeper(instant: instant, continuation: continuation)
                    return false
                }
                if due { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.sleepers.removeValue(forKey: id) }?.continuation.resume(throwing: CancellationError())
        }
        try Task.checkCancellation()
    }

    /// Moves time on and wakes every sleeper that is due.
    func advance(by duration: Duration) {
        let due = state.withLock { state -> [Sleeper] in
            state.now = state.now + duration
            let ids = state.sleepers.filter { $0.value.instant <= state.now }.map(\.key)
            return ids.compactMap { state.sleepers.removeValue(forKey: $0) }
        }
        for sleeper in due { sleeper.continuation.resume() }
    }
}
