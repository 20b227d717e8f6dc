/// The decisions of the write coalescer, as a value type that takes events and returns actions,
/// like `SearchCoalescerStateMachine`; `WriteCoalescer` executes them, the tests drive it with
/// fake instants.
///
/// Writes of one key (database, collection, partition, insert or upsert, column layout) that
/// find a free in-flight slot leave at once, alone: no write ever waits when its key is idle.
/// While every slot is busy, writes queue, and when a slot frees the queue leaves in order as one
/// batch, up to `maxBatchRows` rows and `maxBatchBytes` bytes (a first member larger than that
/// goes alone). The rules that keep data whole:
/// - A member that carries primary keys (an upsert) never shares a batch with another member
///   carrying one of the same keys, nor leaves while a batch with one of them is in flight: the
///   later caller's row is written after the earlier one's, in call order.
/// - A queued member that is cancelled or whose deadline passes leaves, unsent. A member that
///   leaves after its batch was sent is told at once, but the batch goes on for the others: a
///   write that left cannot be recalled.
/// - A batch's deadline is the earliest of its members' (the write must not outlive any caller
///   still waiting for it).
public struct WriteCoalescerStateMachine<Key: Hashable & Sendable>: Sendable {
    public typealias MemberID = Int
    public typealias BatchID = Int
    public typealias Instant = ContinuousClock.Instant
    public typealias Policy = WriteCoalescingPolicy

    /// Why a member left before its batch answered.
    public enum Departure: Sendable, Hashable {
        case cancelled
        case deadlineExceeded
    }

    /// What the shell must do.
    public enum Action: Sendable, Hashable {
        /// Start one Milvus write with these members' rows, in this order, by `deadline`.
        case send(BatchID, members: [MemberID], deadline: Instant)
        /// The batch's outcome goes to these members (those of the `send` still waiting).
        case deliver(BatchID, to: [MemberID])
        /// The member leaves now; `sent` says whether its rows had left (they may be written).
        case fail(MemberID, Departure, sent: Bool)
        /// Report `timerFired` at this instant (it replaces any earlier request).
        case armTimer(Instant)
    }

    public enum SubmitResult: Sendable, Hashable {
        case accepted(MemberID, [Action])
        /// The queues are full: `maxQueuedRows` would be exceeded.
        case rejected
    }

    private struct Member {
        var key: Key
        var rows: Int
        var bytes: Int
        /// Hashes of the primary keys it writes, for members whose keys must not share a batch.
        var conflictKeys: Set<Int>?
        var deadline: Instant
        var batch: BatchID?
    }

    private struct Lane {
        var queue: [MemberID] = []
        var inFlight = 0
        /// The conflict keys of each batch in flight.
        var busyKeys: [BatchID: Set<Int>] = [:]
    }

    private struct Batch {
        var key: Key
        var members: [MemberID]
    }

    public let policy: Policy
    private var members: [MemberID: Member] = [:]
    private var lanes: [Key: Lane] = [:]
    private var batches: [BatchID: Batch] = [:]
    private var nextID = 0
    private var timerAt: Instant?
    /// Rows waiting in all queues.
    public private(set) var queuedRows = 0

    public init(policy: Policy) {
        self.policy = policy
    }

    /// Members queued or riding in a batch.
    public var memberCount: Int { members.count }
    /// Batches whose write has not finished.
    public var batchesInFlight: Int { batches.count }

    // MARK: Events

    /// A write of `rows` rows (`bytes` of data) wants to leave.
    public mutating func submit(key: Key, rows: Int, bytes: Int, conflictKeys: Set<Int>? = nil,
                                deadline: Instant, now: Instant) -> SubmitResult {
        let lane = lanes[key] ?? Lane()
        let leavesNow = lane.queue.isEmpty && lane.inFlight < policy.maxInflightBatches
            && !clashes(conflictKeys, with: lane)
        if !leavesNow && queuedRows + rows > policy.maxQueuedRows { return .rejected }
        let id = nextID
        nextID += 1
        members[id] = Member(key: key, rows: rows, bytes: bytes, conflictKeys: conflictKeys, deadline: deadline)
        lanes[key, default: Lane()].queue.append(id)
        queuedRows += rows
        var actions = sendQueued(key)
        if members[id]?.batch == nil { actions += arm(deadline) }
        return .accepted(id, actions)
    }

    /// The batch's write ended (acknowledged, refused, or failed).
    public mutating func batchFinished(_ batchID: BatchID) -> [Action] {
        guard let batch = batches.removeValue(forKey: batchID) else { return [] }
        let waiting = batch.members.filter { members[$0]?.batch == batchID }
        for member in waiting { members[member] = nil }
        lanes[batch.key]?.inFlight -= 1
        lanes[batch.key]?.busyKeys[batchID] = nil
        var actions: [Action] = waiting.isEmpty ? [] : [.deliver(batchID, to: waiting)]
        actions += sendQueued(batch.key)
        dropLaneIfIdle(batch.key)
        return actions
    }

    /// The member was cancelled, or its deadline passed.
    public mutating func memberLeft(_ id: MemberID, _ departure: Departure) -> [Action] {
        guard let member = members.removeValue(forKey: id) else { return [] }
        if member.batch != nil { return [.fail(id, departure, sent: true)] }
        lanes[member.key]?.queue.removeAll { $0 == id }
        queuedRows -= member.rows
        // A member that left may have held back the ones behind it (a key clash): they may go now.
        var actions: [Action] = [.fail(id, departure, sent: false)]
        actions += sendQueued(member.key)
        dropLaneIfIdle(member.key)
        return actions
    }

    /// The instant of the last `armTimer` came: queued members past their deadline leave.
    public mutating func timerFired(now: Instant) -> [Action] {
        timerAt = nil
        var actions: [Action] = []
        for (id, member) in members where member.batch == nil && member.deadline <= now {
            actions += memberLeft(id, .deadlineExceeded)
        }
        var next: Instant?
        for member in members.values where member.batch == nil && (next.map { member.deadline < $0 } ?? true) {
            next = member.deadline
        }
        if let next { actions += arm(next) }
        return actions
    }

    // MARK: Helpers

    /// Sends the key's queue, in order, while it has free slots: each batch up to the row and byte
    /// caps, cut before a member whose keys clash with the batch's or with a batch in flight.
    private mutating func sendQueued(_ key: Key) -> [Action] {
        var actions: [Action] = []
        while let lane = lanes[key], lane.inFlight < policy.maxInflightBatches, !lane.queue.isEmpty {
            var taken: [MemberID] = []
            var rows = 0
            var bytes = 0
            var keys = Set<Int>()
            for id in lane.queue {
                guard let member = members[id] else { continue }
                if !taken.isEmpty && (rows + member.rows > policy.maxBatchRows || bytes + member.bytes > policy.maxBatchBytes) {
                    break
                }
                if let own = member.conflictKeys {
                    if !own.isDisjoint(with: keys) || clashes(own, with: lane) { break }
                    keys.formUnion(own)
                }
                taken.append(id)
                rows += member.rows
                bytes += member.bytes
            }
            guard !taken.isEmpty else { break }  // the first waits for a batch in flight with its keys
            let batchID = nextID
            nextID += 1
            var deadline = members[taken[0]]!.deadline
            for id in taken {
                members[id]?.batch = batchID
                if let own = members[id]?.deadline, own < deadline { deadline = own }
            }
            let leaving = Set(taken)
            lanes[key]?.queue.removeAll { leaving.contains($0) }
            lanes[key]?.inFlight += 1
            if !keys.isEmpty { lanes[key]?.busyKeys[batchID] = keys }
            queuedRows -= rows
            batches[batchID] = Batch(key: key, members: taken)
            actions.append(.send(batchID, members: taken, deadline: deadline))
        }
        return actions
    }

    private func clashes(_ keys: Set<Int>?, with lane: Lane) -> Bool {
        guard let keys else { return false }
        return lane.busyKeys.values.contains { !$0.isDisjoint(with: keys) }
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
