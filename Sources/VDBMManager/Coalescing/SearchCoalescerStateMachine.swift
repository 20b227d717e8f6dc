/// The decisions of the search coalescer, as a value type that takes events and returns actions
/// (like `PoolStateMachine`). It owns no tasks, no results and no clock: `SearchCoalescer`
/// executes the actions, and the tests drive it with fake events and instants.
///
/// Searches that differ only in their query vectors share a key. A search whose key has a free
/// in-flight slot leaves at once, alone (no added delay when idle); while every slot of its key is
/// busy it waits in its key's queue, and when a slot frees, the queue leaves together as one batch
/// of up to `maxBatchVectors` query vectors. Each member keeps its own deadline: one that passes,
/// or a member that is cancelled, leaves at once; a batch whose members have all left is
/// cancelled.
public struct SearchCoalescerStateMachine<Key: Hashable & Sendable>: Sendable {
    public typealias MemberID = Int
    public typealias BatchID = Int
    public typealias Instant = ContinuousClock.Instant

    public typealias Policy = SearchCoalescingPolicy

    /// Why a member left before its batch answered.
    public enum Departure: Sendable, Hashable {
        case cancelled
        case deadlineExceeded
    }

    /// What the shell must do.
    public enum Action: Sendable, Hashable {
        /// Start one Milvus search with these members' vectors, in this order, by `deadline` (the
        /// latest of theirs).
        case send(BatchID, members: [MemberID], deadline: Instant)
        /// The batch's answer (its results, or its error) goes to these members: those of the
        /// `send` still waiting, in the same order.
        case deliver(BatchID, to: [MemberID])
        /// The member leaves now, with this outcome.
        case fail(MemberID, Departure)
        /// Every member of this batch has left: stop its search.
        case cancel(BatchID)
        /// Report `timerFired` at this instant (it replaces any earlier request).
        case armTimer(Instant)
    }

    /// What `submit` answers.
    public enum SubmitResult: Sendable, Hashable {
        case accepted(MemberID, [Action])
        /// The queues are full: `maxQueuedVectors` would be exceeded.
        case rejected
    }

    private struct Member {
        var key: Key
        var vectors: Int
        var deadline: Instant
        /// The batch it rides in; `nil` while queued.
        var batch: BatchID?
    }

    private struct Lane {
        var queue: [MemberID] = []
        var queuedVectors = 0
        var inFlight = 0
        /// When a forming batch (with `maxWait`) must leave.
        var flushAt: Instant?
    }

    private struct Batch {
        var key: Key
        var members: [MemberID]
        var waiting: Int
    }

    public let policy: Policy
    private var members: [MemberID: Member] = [:]
    private var lanes: [Key: Lane] = [:]
    private var batches: [BatchID: Batch] = [:]
    private var nextID = 0
    private var timerAt: Instant?
    /// Query vectors waiting in all queues.
    public private(set) var queuedVectors = 0

    public init(policy: Policy) {
        self.policy = policy
    }

    /// Members waiting in a queue or riding in a batch.
    public var memberCount: Int { members.count }
    /// Batches whose search has not finished.
    public var batchesInFlight: Int { batches.count }

    // MARK: Events

    /// A search with `vectors` query vectors wants to leave.
    public mutating func submit(key: Key, vectors: Int, deadline: Instant, now: Instant) -> SubmitResult {
        var lane = lanes[key] ?? Lane()
        let leavesNow = lane.inFlight < policy.maxInflightBatches && policy.maxWait == .zero && lane.queue.isEmpty
        if !leavesNow && queuedVectors + vectors > policy.maxQueuedVectors { return .rejected }
        let id = nextID
        nextID += 1
        members[id] = Member(key: key, vectors: vectors, deadline: deadline)
        var actions: [Action] = []
        if leavesNow {
            lanes[key] = lane
            actions.append(startBatch(key, [id]))
        } else {
            lane.queue.append(id)
            lane.queuedVectors += vectors
            queuedVectors += vectors
            if lane.inFlight < policy.maxInflightBatches && lane.flushAt == nil { lane.flushAt = now + policy.maxWait }
            lanes[key] = lane
            if lane.queuedVectors >= policy.maxBatchVectors || (lane.flushAt.map { $0 <= now } ?? false) {
                actions += sendQueued(key)
            }
        }
        actions += arm(deadline)
        if let flushAt = lanes[key]?.flushAt { actions += arm(flushAt) }
        return .accepted(id, actions)
    }

    /// The batch's search ended (answered, failed, or stopped after `cancel`).
    public mutating func batchFinished(_ batchID: BatchID) -> [Action] {
        guard let batch = batches.removeValue(forKey: batchID) else { return [] }
        let waiting = batch.members.filter { members[$0]?.batch == batchID }
        for member in waiting { members[member] = nil }
        lanes[batch.key]?.inFlight -= 1
        var actions: [Action] = waiting.isEmpty ? [] : [.deliver(batchID, to: waiting)]
        actions += sendQueued(batch.key)
        dropLaneIfIdle(batch.key)
        return actions
    }

    /// The member was cancelled, or its deadline passed.
    public mutating func memberLeft(_ id: MemberID, _ departure: Departure) -> [Action] {
        guard let member = members.removeValue(forKey: id) else { return [] }
        guard let batchID = member.batch else {
            if var lane = lanes[member.key] {
                lane.queue.removeAll { $0 == id }
                lane.queuedVectors -= member.vectors
                if lane.queue.isEmpty { lane.flushAt = nil }
                lanes[member.key] = lane
            }
            queuedVectors -= member.vectors
            dropLaneIfIdle(member.key)
            return [.fail(id, departure)]
        }
        batches[batchID]?.waiting -= 1
        if batches[batchID]?.waiting == 0 { return [.fail(id, departure), .cancel(batchID)] }
        return [.fail(id, departure)]
    }

    /// The instant of the last `armTimer` came: members past their deadline leave, forming
    /// batches whose wait is over are sent.
    public mutating func timerFired(now: Instant) -> [Action] {
        timerAt = nil
        var actions: [Action] = []
        for (id, member) in members where member.deadline <= now {
            actions += memberLeft(id, .deadlineExceeded)
        }
        for (key, lane) in lanes {
            guard let flushAt = lane.flushAt, flushAt <= now else { continue }
            lanes[key]?.flushAt = nil
            actions += sendQueued(key)
        }
        let next = (members.values.map(\.deadline) + lanes.values.compactMap(\.flushAt)).min()
        if let next { actions += arm(next) }
        return actions
    }

    // MARK: Helpers

    private mutating func startBatch(_ key: Key, _ ids: [MemberID]) -> Action {
        let batchID = nextID
        nextID += 1
        for id in ids { members[id]?.batch = batchID }
        batches[batchID] = Batch(key: key, members: ids, waiting: ids.count)
        lanes[key, default: Lane()].inFlight += 1
        let deadline = ids.compactMap { members[$0]?.deadline }.max()!
        return .send(batchID, members: ids, deadline: deadline)
    }

    /// Sends the key's queue, in order, while it has free slots: each batch up to
    /// `maxBatchVectors` (a first member larger than that goes alone).
    private mutating func sendQueued(_ key: Key) -> [Action] {
        var actions: [Action] = []
        while var lane = lanes[key], lane.inFlight < policy.maxInflightBatches, !lane.queue.isEmpty {
            var taken: [MemberID] = []
            var vectors = 0
            for id in lane.queue {
                let count = members[id]?.vectors ?? 0
                if !taken.isEmpty && vectors + count > policy.maxBatchVectors { break }
                taken.append(id)
                vectors += count
            }
            lane.queue.removeFirst(taken.count)
            lane.queuedVectors -= vectors
            queuedVectors -= vectors
            if lane.queue.isEmpty { lane.flushAt = nil }
            lanes[key] = lane
            actions.append(startBatch(key, taken))
        }
        return actions
    }

    private mutating func dropLaneIfIdle(_ key: Key) {
        if let lane = lanes[key], lane.inFlight == 0, lane.queue.isEmpty { lanes[key] = nil }
    }

    private mutating func arm(_ instant: Instant) -> [Action] {
        if let timerAt, timerAt <= instant { return [] }
        timerAt = instant
        return [.armTimer(instant)]
    }
}
