import Synchronization
import VDBMUtils

/// The classes of calls admission control limits separately.
public enum CallClass: String, Sendable, Hashable, CaseIterable {
    case search, read, write, admin
}

/// The limits, with the name of each as the caller's configuration spells it (for refusal
/// messages; the daemon's are `server.max_inflight_*`).
public struct AdmissionLimits: Sendable, Hashable {
    public var total: Int
    public var perClass: [CallClass: Int]
    /// The configuration key of each limit, for refusal messages.
    public var keys: [CallClass: String]
    public var totalKey: String

    public init(total: Int, perClass: [CallClass: Int], totalKey: String = "the limit on all calls",
                keys: [CallClass: String] = [:]) {
        self.total = total
        self.perClass = perClass
        self.totalKey = totalKey
        self.keys = keys
    }
}

/// Why a call was not admitted, with a message naming the limit (RESOURCE_EXHAUSTED).
public struct AdmissionRefusal: Error, Sendable, Hashable {
    public var message: String
}

/// The I/O shell of `AdmissionStateMachine`: calls take a permit before they run and give it back
/// when they end. State is behind one lock, held only for the decision; waiters are resumed after
/// it is released.
public final class AdmissionController: Sendable {
    private typealias Machine = AdmissionStateMachine<CallClass>
    private typealias Continuation = CheckedContinuation<Void, any Error>

    private struct Waiter {
        /// `nil` until the caller suspends.
        var continuation: Continuation?
        /// Admitted before it suspended: it runs as soon as it gets there.
        var admitted = false
    }

    private struct State {
        var machine: Machine
        var waiters: [Machine.WaiterID: Waiter] = [:]
    }

    private let limits: AdmissionLimits
    private let state: Mutex<State>

    public init(limits: AdmissionLimits) {
        self.limits = limits
        state = Mutex(State(machine: Machine(totalLimit: limits.total, laneLimits: limits.perClass)))
    }

    /// Calls running and waiting (for tests and server info).
    public var snapshot: (running: Int, waiting: Int) {
        state.withLock { ($0.machine.runningCount, $0.machine.waitingCount) }
    }

    /// Runs `body` once the call may start: at once, after a wait that fits `deadline`, or never
    /// (`AdmissionRefusal`, or `CancellationError` when the caller's task is cancelled first).
    public func run<T>(_ callClass: CallClass, deadline: Deadline, _ body: () async throws -> T) async throws -> T {
        try await admit(callClass, deadline: deadline)
        let started = ContinuousClock.now
        defer { release(callClass, after: started.duration(to: .now)) }
        return try await body()
    }

    private func admit(_ callClass: CallClass, deadline: Deadline) async throws {
        let decision = state.withLock { state in
            let decision = state.machine.arrive(callClass, deadline: deadline.instant, now: .now)
            if case .wait(let id) = decision { state.waiters[id] = Waiter() }
            return decision
        }
        switch decision {
        case .admitted:
            return
        case .refused(let refusal):
            throw AdmissionRefusal(message: message(refusal))
        case .wait(let id):
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: Continuation) in
                    let outcome = state.withLock { state -> Result<Void, any Error>? in
                        // Gone: cancelled before it got here.
                        guard var waiter = state.waiters[id] else { return .failure(CancellationError()) }
                        if waiter.admitted {
                            state.waiters[id] = nil
                            return .success(())
                        }
                        waiter.continuation = continuation
                        state.waiters[id] = waiter
                        return nil
                    }
                    if let outcome { continuation.resume(with: outcome) }
                }
            } onCancel: {
                let continuation = state.withLock { state -> Continuation? in
                    // An admitted call runs (and gives its permit back) even if cancelled now.
                    guard let waiter = state.waiters[id], !waiter.admitted else { return nil }
                    state.waiters[id] = nil
                    state.machine.left(id)
                    return waiter.continuation
                }
                continuation?.resume(throwing: CancellationError())
            }
        }
    }

    private func release(_ callClass: CallClass, after duration: Duration) {
        let admitted = state.withLock { state -> [Continuation] in
            var resumed: [Continuation] = []
            for case .admit(let id) in state.machine.finished(callClass, after: duration) {
                guard var waiter = state.waiters[id] else { continue }
                if let continuation = waiter.continuation {
                    state.waiters[id] = nil
                    resumed.append(continuation)
                } else {
                    waiter.admitted = true
                    state.waiters[id] = waiter
                }
            }
            return resumed
        }
        for continuation in admitted { continuation.resume() }
    }

    private func message(_ refusal: Machine.Refusal) -> String {
        func name(_ limit: Machine.Limit) -> String {
            switch limit {
            case .total(let size): "\(limits.totalKey) (\(size)) calls"
            case .lane(let lane, let size): "\(limits.keys[lane] ?? "the \(lane.rawValue) limit") (\(size)) \(lane.rawValue) calls"
            }
        }
        switch refusal {
        case .queueFull(let limit):
            return "vdbm is at its limit of \(name(limit)) running, and as many wait: try again later"
        case .wouldMissDeadline(let limit, let expected):
            return "vdbm is at its limit of \(name(limit)) running; a place is expected in about "
                + "\(Int(expected.inMilliseconds.rounded(.up))) ms, after this call's deadline"
        }
    }
}
