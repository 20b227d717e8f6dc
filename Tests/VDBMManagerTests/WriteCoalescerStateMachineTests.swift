import Testing
@testable import VDBMManager

/// The write coalescer's decisions, driven with fake events and instants (no tasks, no clock).
@Suite struct WriteCoalescerStateMachineTests {
    typealias Machine = WriteCoalescerStateMachine<String>
    private let t0 = ContinuousClock.now
    private func at(_ ms: Int) -> ContinuousClock.Instant { t0 + .milliseconds(ms) }

    private static func policy(rows: Int = 512, bytes: Int = 1 << 20, inflight: Int = 1, queued: Int = 10_000)
        -> WriteCoalescingPolicy {
        WriteCoalescingPolicy(maxBatchRows: rows, maxBatchBytes: bytes, maxInflightBatches: inflight, maxQueuedRows: queued)
    }

    private func submit(_ machine: inout Machine, _ key: String = "k", rows: Int = 1, bytes: Int = 100,
                        keys: Set<Int>? = nil, deadline: Int = 1_000, now: Int = 0,
                        sourceLocation: SourceLocation = #_sourceLocation) -> (Int, [Machine.Action]) {
        guard case .accepted(let id, let actions) = machine.submit(key: key, rows: rows, bytes: bytes, conflictKeys: keys,
                                                                   deadline: at(deadline), now: at(now)) else {
            Issue.record("refused", sourceLocation: sourceLocation)
            return (-1, [])
        }
        return (id, actions)
    }

    private func sends(_ actions: [Machine.Action]) -> [[Int]] {
        actions.compactMap { if case .send(_, let members, _) = $0 { members } else { nil } }
    }

    private func batches(_ actions: [Machine.Action]) -> [Int] {
        actions.compactMap { if case .send(let id, _, _) = $0 { id } else { nil } }
    }

    @Test func anIdleKeySendsAtOnceArmingNoTimer() {
        var machine = Machine(policy: Self.policy())
        let (a, actions) = submit(&machine)
        #expect(sends(actions) == [[a]])
        #expect(!actions.contains { if case .armTimer = $0 { true } else { false } })
        #expect(machine.queuedRows == 0)
    }

    @Test func writesQueueWhileOneIsInFlightAndLeaveTogetherInOrderByTheEarliestDeadline() {
        var machine = Machine(policy: Self.policy())
        let (a, first) = submit(&machine)
        let (b, second) = submit(&machine, rows: 2, deadline: 900)
        let (c, third) = submit(&machine, rows: 3, deadline: 400)
        #expect(sends(second).isEmpty && sends(third).isEmpty)
        #expect(third.contains(.armTimer(at(400))))  // the earliest queued deadline
        #expect(machine.queuedRows == 5)
        let finished = machine.batchFinished(batches(first)[0])
        #expect(finished.first == .deliver(batches(first)[0], to: [a]))
        guard case .send(_, let members, let deadline) = finished.last else {
            Issue.record("no batch sent: \(finished)")
            return
        }
        #expect(members == [b, c])
        #expect(deadline == at(400))
        #expect(machine.queuedRows == 0)
    }

    @Test func rowAndByteCapsCutBatchesButALargeFirstMemberStillGoes() {
        var machine = Machine(policy: Self.policy(rows: 3, bytes: 1_000))
        let (_, first) = submit(&machine)
        let (b, _) = submit(&machine, rows: 2)
        let (c, _) = submit(&machine, rows: 2)  // b + c = 4 rows > 3
        let (d, _) = submit(&machine, rows: 1, bytes: 950)  // c + d = 3 rows, but 1,050 bytes > 1,000
        let (e, _) = submit(&machine, rows: 10)  // alone: larger than the cap
        var next = machine.batchFinished(batches(first)[0])
        #expect(sends(next) == [[b]])
        next = machine.batchFinished(batches(next)[0])
        #expect(sends(next) == [[c]])
        next = machine.batchFinished(batches(next)[0])
        #expect(sends(next) == [[d]])
        next = machine.batchFinished(batches(next)[0])
        #expect(sends(next) == [[e]])
    }

    @Test func aFullQueueRefusesAndLeavesTheKeyAsItWas() {
        var machine = Machine(policy: Self.policy(queued: 3))
        _ = submit(&machine)
        _ = submit(&machine, rows: 3)
        let refused = machine.submit(key: "k", rows: 1, bytes: 1, deadline: at(1_000), now: at(0))
        #expect(refused == .rejected)
        #expect(machine.queuedRows == 3)
        // Another key with a free slot still leaves: the cap is on waiting rows only.
        #expect(sends(submit(&machine, "other").1).count == 1)
    }

    @Test func keysAreIndependent() {
        var machine = Machine(policy: Self.policy())
        let (a, one) = submit(&machine, "insert into a")
        let (b, two) = submit(&machine, "insert into b")
        #expect(sends(one) == [[a]] && sends(two) == [[b]])
    }

    @Test func aMemberCancelledBeforeItsBatchLeavesIsDroppedUnsent() {
        var machine = Machine(policy: Self.policy())
        let (_, first) = submit(&machine)
        let (b, _) = submit(&machine)
        let (c, _) = submit(&machine)
        #expect(machine.memberLeft(b, .cancelled) == [.fail(b, .cancelled, sent: false)])
        #expect(machine.queuedRows == 1)
        #expect(sends(machine.batchFinished(batches(first)[0])) == [[c]])
    }

    @Test func aMemberCancelledAfterItsBatchLeftIsToldSentAndTheBatchGoesOnForTheOthers() {
        var machine = Machine(policy: Self.policy())
        let (_, first) = submit(&machine)
        let (b, _) = submit(&machine)
        let (c, _) = submit(&machine)
        let second = machine.batchFinished(batches(first)[0])
        #expect(sends(second) == [[b, c]])
        // No cancel of the batch: a write that left is not recalled.
        #expect(machine.memberLeft(b, .cancelled) == [.fail(b, .cancelled, sent: true)])
        #expect(machine.batchFinished(batches(second)[0]) == [.deliver(batches(second)[0], to: [c])])
    }

    @Test func aQueuedMemberPastItsDeadlineLeavesUnsent() {
        var machine = Machine(policy: Self.policy())
        let (_, first) = submit(&machine)
        let (b, armed) = submit(&machine, deadline: 50)
        #expect(armed.contains(.armTimer(at(50))))
        let fired = machine.timerFired(now: at(50))
        #expect(fired.contains(.fail(b, .deadlineExceeded, sent: false)))
        #expect(machine.memberCount == 1)
        #expect(sends(machine.batchFinished(batches(first)[0])).isEmpty)
    }

    @Test func upsertsOfTheSameKeyNeverShareABatchAndKeepCallOrder() {
        var machine = Machine(policy: Self.policy())
        let (_, first) = submit(&machine, keys: [1])
        let (b, _) = submit(&machine, keys: [1, 5])
        let (c, _) = submit(&machine, keys: [5])  // clashes with b: the batch ends before it
        let (d, _) = submit(&machine, keys: [9])
        let second = machine.batchFinished(batches(first)[0])
        #expect(sends(second) == [[b]])
        let third = machine.batchFinished(batches(second)[0])
        #expect(sends(third) == [[c, d]])
    }

    @Test func anUpsertWaitsForABatchInFlightWithItsKeyEvenWithASlotFree() {
        var machine = Machine(policy: Self.policy(inflight: 2))
        let (_, first) = submit(&machine, keys: [7])
        let (b, held) = submit(&machine, keys: [7])
        #expect(sends(held).isEmpty)  // a slot is free, but its row must follow the first one's
        let (c, behind) = submit(&machine, keys: [8])
        #expect(sends(behind).isEmpty)  // in order behind b
        #expect(sends(machine.batchFinished(batches(first)[0])) == [[b, c]])
    }

    @Test func aMemberThatLeavesUnblocksTheOnesBehindIt() {
        var machine = Machine(policy: Self.policy(inflight: 2))
        _ = submit(&machine, keys: [7])
        let (b, _) = submit(&machine, keys: [7])
        let (c, _) = submit(&machine, keys: [8])
        let left = machine.memberLeft(b, .cancelled)
        #expect(left.first == .fail(b, .cancelled, sent: false))
        #expect(sends(left) == [[c]])  // the second slot was free all along
    }
}
