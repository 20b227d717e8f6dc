/// The decisions of admission control, as a value type that takes events and returns actions (no
/// tasks, no clock: `AdmissionController` executes them, tests drive it with fake instants).
///
/// Calls run under a limit on all calls at once and a limit per class (searches, reads, writes,
/// admin). A call that fits both starts at once. One that does not waits, first in first out,
/// only if it can expect to start within its own deadline: the expected wait is the class's (or
/// everyone's) average call time, times the calls queued ahead of it plus one, over the limit
/// that holds it back. A call that cannot, or that finds the queue for its limit as long as the
/// limit itself, is refused at once, naming the limit: the client learns in microseconds what it
/// would otherwise learn at its deadline, and a flood costs vdbm no memory.
public struct AdmissionStateMachine<Lane: Hashable & Sendable>: Sendable {
    public typealias WaiterID = Int
    public typealias Instant = ContinuousClock.Instant

    /// Which limit held a call back.
    public enum Limit: Sendable, Hashable {
        case total(Int)
        case lane(Lane, Int)
    }

    /// Why a call was refused.
    public enum Refusal: Sendable, Hashable {
        /// As many calls already wait for this limit as the limit allows to run.
        case queueFull(Limit)
        /// The expected wait for this limit is longer than the call's remaining time.
        case wouldMissDeadline(Limit, expectedWait: Duration)
    }

    public enum Decision: Sendable, Hashable {
        case admitted
        /// Queued: an `Action.admit` for this waiter follows (or it leaves with `left`).
        case wait(WaiterID)
        case refused(Refusal)
    }

    public enum Action: Sendable, Hashable {
        case admit(WaiterID)
    }

    public let totalLimit: Int
    public let laneLimits: [Lane: Int]
    private var running: [Lane: Int] = [:]
    private var runningTotal = 0
    private var queue: [(id: WaiterID, lane: Lane)] = []
    private var nextID = 0
    /// Exponentially weighted average of call durations, per class and for all.
    private var averages: [Lane: Duration] = [:]
    private var averageAll: Duration?

    /// A lane without a limit in `laneLimits` is held only by the total.
    public init(totalLimit: Int, laneLimits: [Lane: Int]) {
        self.totalLimit = max(1, totalLimit)
        self.laneLimits = laneLimits.mapValues { max(1, $0) }
    }

    public var runningCount: Int { runningTotal }
    public var waitingCount: Int { queue.count }

    /// A call of `lane` wants to start; it must start by `deadline`.
    public mutating func arrive(_ lane: Lane, deadline: Instant, now: Instant) -> Decision {
        guard let limit = blockingLimit(lane) ?? queuedLimit(lane) else {
            start(lane)
            return .admitted
        }
        let ahead = waiting(behind: limit)
        let size = limitSize(limit)
        if ahead >= size { return .refused(.queueFull(limit)) }
        if let average = average(limit) {
            let expected = average * Double(ahead + 1) / Double(size)
            if expected > now.duration(to: deadline) { return .refused(.wouldMissDeadline(limit, expectedWait: expected)) }
        }
        nextID += 1
        queue.append((nextID, lane))
        return .wait(nextID)
    }

    /// A call of `lane` that started ended after `duration`: waiters that now fit start, in order.
    public mutating func finished(_ lane: Lane, after duration: Duration) -> [Action] {
        running[lane, default: 1] -= 1
        runningTotal -= 1
        averages[lane] = Self.blend(averages[lane], duration)
        averageAll = Self.blend(averageAll, duration)
        var actions: [Action] = []
        var index = 0
        while index < queue.count && runningTotal < totalLimit {
            let waiter = queue[index]
            if blockingLimit(waiter.lane) == nil {
                queue.remove(at: index)
                start(waiter.lane)
                actions.append(.admit(waiter.id))
            } else {
                index += 1
            }
        }
        return actions
    }

    /// A waiter gave up (cancelled, or its deadline passed) before it was admitted.
    public mutating func left(_ id: WaiterID) {
        queue.removeAll { $0.id == id }
    }

    // MARK: Helpers

    private mutating func start(_ lane: Lane) {
        running[lane, default: 0] += 1
        runningTotal += 1
    }

    /// The limit that keeps a call of `lane` from starting now, if any.
    private func blockingLimit(_ lane: Lane) -> Limit? {
        if let limit = laneLimits[lane], running[lane, default: 0] >= limit { return .lane(lane, limit) }
        if runningTotal >= totalLimit { return .total(totalLimit) }
        return nil
    }

    /// A call that could start but would overtake waiters of its own class queues behind them.
    private func queuedLimit(_ lane: Lane) -> Limit? {
        guard queue.contains(where: { $0.lane == lane }) else { return nil }
        return laneLimits[lane].map { .lane(lane, $0) } ?? .total(totalLimit)
    }

    private func waiting(behind limit: Limit) -> Int {
        switch limit {
        case .total: queue.count
        case .lane(let lane, _): queue.reduce(0) { $0 + ($1.lane == lane ? 1 : 0) }
        }
    }

    private func limitSize(_ limit: Limit) -> Int {
        switch limit {
        case .total(let size), .lane(_, let size): size
        }
    }

    private func average(_ limit: Limit) -> Duration? {
        switch limit {
        case .total: averageAll
        case .lane(let lane, _): averages[lane]
        }
    }

    /// One eighth of the new sample, seven eighths of the past.
    private static func blend(_ average: Duration?, _ sample: Duration) -> Duration {
        guard let average else { return sample }
        return average * 0.875 + sample * 0.125
    }
}
