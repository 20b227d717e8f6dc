/// The decisions of the search coalescer, as a value type that takes events and returns actions
/// (like `PoolStateMachine`). It owns no tasks, no results and no clock: `SearchCoalescer`
/// executes the actions, and the tests drive it with fake events and instants.
///
/// Searches that differ only in their query vectors share a key. A search whose key has a free
/// in-flight slot leaves at once, alone (no added delay when idle); while every slot of its key is
/// busy it waits in its key's queue, and when a slot frees, the queue leaves together as one batch
/// of up to `maxBatchVectors` query vectors. A key's queue may be *held* for a while instead: for
/// `maxWait` after an idle search arrives, and for `regroupWait` after a batch answered, until
/// the callers it answered are back (their next searches then ride together). A hold ends early
/// when the queue fills a batch. Each member keeps its own deadline: one that passes, or a member
/// that is cancelled, leaves at once; a batch whose members have all left is cancelled.
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
        /// Until when the queue is held for company (`maxWait` or `regroupWait`), if it is.
        var holdUntil: Instant?
        /// Callers of this key's last answered batches not yet back with a new search.
        var returning = 0
        /// Whether `holdUntil` waits for those callers (it ends when all are back).
        var regrouping = false
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
        // Taken out of the dictionary while it changes, so that its queue is not copied (a copy
        // left inside would make `append` duplicate the array).
        let existing = lanes.removeValue(forKey: key)
        var lane = existing ?? Lane()
        let unchanged = (lane.holdUntil, lane.regrouping, lane.returning)
        if let holdUntil = lane.holdUntil, holdUntil <= now {
            // A hold that ended with nobody in it (no timer was needed): callers not back by now
            // are not waited for again.
            (lane.holdUntil, lane.regrouping, lane.returning) = (nil, false, 0)
        }
        if lane.returning > 0 {
            // Presumably one of the callers the last batch answered: once all are back, stop holding.
            lane.returning -= 1
            if lane.returning == 0 && lane.regrouping { (lane.holdUntil, lane.regrouping) = (nil, false) }
        }
        let slotFree = lane.inFlight < policy.maxInflightBatches
        if slotFree && lane.queue.isEmpty && lane.holdUntil == nil {
            if policy.maxWait > .zero {
                lane.holdUntil = now + policy.maxWait
            } else if lane.returning > 0 && policy.regroupWait > .zero {
                (lane.holdUntil, lane.regrouping) = (now + policy.regroupWait, true)
            }
        }
        let leavesNow = slotFree && lane.queue.isEmpty && !isHeld(lane, now: now)
        if !leavesNow && queuedVectors + vectors > policy.maxQueuedVectors {
            // Refused: the key stays exactly as it was (a new one is not created).
            if existing != nil {
                (lane.holdUntil, lane.regrouping, lane.returning) = unchanged
                lanes[key] = lane
            }
            return .rejected
        }
        let id = nextID
        nextID += 1
        members[id] = Member(key: key, vectors: vectors, deadline: deadline)
        lane.queue.append(id)
        lane.queuedVectors += vectors
        queuedVectors += vectors
        lanes[key] = lane
        var actions = sendQueued(key, now: now)
        actions += arm(deadline)
        actions += armHold(key)
        return .accepted(id, actions)
    }

    /// The batch's search ended (answered, failed, or stopped after `cancel`).
    public mutating func batchFinished(_ batchID: BatchID, now: Instant) -> [Action] {
        guard let batch = batches.removeValue(forKey: batchID) else { return [] }
        let waiting = batch.members.filter { members[$0]?.batch == batchID }
        for member in waiting { members[member] = nil }
        if var lane = lanes[batch.key] {
            lane.inFlight -= 1
            if policy.regroupWait > .zero && !waiting.isEmpty {
                lane.returning += waiting.count
                (lane.holdUntil, lane.regrouping) = (max(lane.holdUntil ?? now, now + policy.regroupWait), true)
            }
            lanes[batch.key] = lane
        }
        var actions: [Action] = waiting.isEmpty ? [] : [.deliver(batchID, to: waiting)]
        actions += sendQueued(batch.key, now: now)
        actions += armHold(batch.key)
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

    /// The instant of the last `armTimer` came: members past their deadline leave, holds that
    /// are over end and their queues leave.
    public mutating func timerFired(now: Instant) -> [Action] {
        timerAt = nil
        var actions: [Action] = []
        for (id, member) in members where member.deadline <= now {
            actions += memberLeft(id, .deadlineExceeded)
        }
        for (key, lane) in lanes {
            guard let holdUntil = lane.holdUntil, holdUntil <= now else { continue }
            // Callers not back by now are not waited for again.
            lanes[key]?.holdUntil = nil
            lanes[key]?.regrouping = false
            lanes[key]?.returning = 0
            actions += sendQueued(key, now: now)
            dropLaneIfIdle(key)
        }
        // Loops, not `map(\.deadline)`: a key path into a generic type is built at run time, on
        // every call (it was 3% of vdbm's CPU under a search load).
        var next: Instant?
        for member in members.values where next.map({ member.deadline < $0 }) ?? true { next = member.deadline }
        for lane in lanes.values where !lane.queue.isEmpty {
            if let holdUntil = lane.holdUntil, next.map({ holdUntil < $0 }) ?? true { next = holdUntil }
        }
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

    /// Whether the key's queue is held for company: a hold that has not ended, unless the queue
    /// already fills a batch.
    private func isHeld(_ lane: Lane, now: Instant) -> Bool {
        guard let holdUntil = lane.holdUntil, holdUntil > now else { return false }
        return lane.queuedVectors < policy.maxBatchVectors
    }

    /// Sends the key's queue, in order, while it has free slots and is not held: each batch up
    /// to `maxBatchVectors` (a first member larger than that goes alone).
    private mutating func sendQueued(_ key: Key, now: Instant) -> [Action] {
        var actions: [Action] = []
        while var lane = lanes.removeValue(forKey: key) {
            guard lane.inFlight < policy.maxInflightBatches, !lane.queue.isEmpty, !isHeld(lane, now: now) else {
                lanes[key] = lane
                break
            }
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
            lanes[key] = lane
            actions.append(startBatch(key, taken))
        }
        return actions
    }

    /// A lane with nothing queued, in flight, held or expected back is forgotten.
    private mutating func dropLaneIfIdle(_ key: Key) {
        if let lane = lanes[key], lane.inFlight == 0, lane.queue.isEmpty, lane.holdUntil == nil, lane.returning == 0 {
            lanes[key] = nil
        }
    }

    /// A hold needs the timer only while someone waits in it: an empty held queue is released by
    /// the next search's arrival (one caller at a time arms no timer per search).
    private mutating func armHold(_ key: Key) -> [Action] {
        guard let lane = lanes[key], let holdUntil = lane.holdUntil, !lane.queue.isEmpty else { return [] }
        return arm(holdUntil)
    }

    private mutating func arm(_ instant: Instant) -> [Action] {
        if let timerAt, timerAt <= instant { return [] }
        timerAt = instant
        return [.armTimer(instant)]
    }
}
