import Testing
@testable import VDBMManager

/// The coalescer's decisions, driven with fake events and instants (no tasks, no clock).
@Suite struct SearchCoalescerStateMachineTests {
    typealias Machine = SearchCoalescerStateMachine<String>
    private let t0 = ContinuousClock.now
    private func at(_ ms: Int) -> ContinuousClock.Instant { t0 + .milliseconds(ms) }

    /// Submits and returns the member id and actions (failing the test when refused).
    private func submit(_ machine: inout Machine, _ key: String = "k", vectors: Int = 1, deadline: Int = 1_000,
                        now: Int = 0, sourceLocation: SourceLocation = #_sourceLocation) -> (Int, [Machine.Action]) {
        guard case .accepted(let id, let actions) = machine.submit(key: key, vectors: vectors, deadline: at(deadline), now: at(now)) else {
            Issue.record("refused", sourceLocation: sourceLocation)
            return (-1, [])
        }
        return (id, actions)
    }

    private func sends(_ actions: [Machine.Action]) -> [[Int]] {
        actions.compactMap { if case .send(_, let members, _) = $0 { members } else { nil } }
    }

    private func batchID(_ actions: [Machine.Action]) -> Int? {
        actions.lazy.compactMap { if case .send(let id, _, _) = $0 { id } else { nil } }.first
    }

    @Test func anIdleKeySendsAtOnceWithNoDelay() {
        var machine = Machine(policy: .forTests())
        let (a, actions) = submit(&machine)
        #expect(sends(actions) == [[a]])
        #expect(actions.contains(.armTimer(at(1_000))))
        #expect(machine.queuedVectors == 0)
    }

    @Test func searchesQueueWhileABatchIsInFlightAndLeaveTogetherWhenItFinishes() {
        var machine = Machine(policy: .forTests())
        let (a, first) = submit(&machine)
        let (b, second) = submit(&machine, vectors: 2)
        let (c, third) = submit(&machine, vectors: 3)
        #expect(sends(second).isEmpty && sends(third).isEmpty)
        #expect(machine.queuedVectors == 5)
        let next = machine.batchFinished(batchID(first)!, now: at(0))
        #expect(next.first == .deliver(batchID(first)!, to: [a]))
        #expect(sends(next) == [[b, c]])
        #expect(machine.queuedVectors == 0)
        let last = machine.batchFinished(batchID(next)!, now: at(0))
        #expect(last == [.deliver(batchID(next)!, to: [b, c])])
        #expect(machine.memberCount == 0 && machine.batchesInFlight == 0)
    }

    @Test func aBatchDeadlineIsTheLatestOfItsMembers() {
        var machine = Machine(policy: .forTests())
        let (_, first) = submit(&machine, deadline: 500)
        _ = submit(&machine, deadline: 900)
        _ = submit(&machine, deadline: 700)
        let next = machine.batchFinished(batchID(first)!, now: at(0))
        guard case .send(_, _, let deadline)? = next.last else { Issue.record("no send"); return }
        #expect(deadline == at(900))
    }

    @Test func batchesHoldAtMostMaxBatchVectorsAndLargerSearchesGoAlone() {
        var machine = Machine(policy: .forTests(maxBatchVectors: 4))
        let (_, first) = submit(&machine)
        let (b, _) = submit(&machine, vectors: 3)
        let (c, _) = submit(&machine, vectors: 2)
        let (d, _) = submit(&machine, vectors: 9)
        let (e, _) = submit(&machine, vectors: 1)
        let second = machine.batchFinished(batchID(first)!, now: at(0))
        #expect(sends(second) == [[b]])  // b + c would be 5 > 4
        let third = machine.batchFinished(batchID(second)!, now: at(0))
        #expect(sends(third) == [[c]])  // c + d would be 11
        let fourth = machine.batchFinished(batchID(third)!, now: at(0))
        #expect(sends(fourth) == [[d]])  // alone, though larger than the cap
        let fifth = machine.batchFinished(batchID(fourth)!, now: at(0))
        #expect(sends(fifth) == [[e]])
    }

    @Test func aFullQueueRefusesAtOnce() {
        var machine = Machine(policy: .forTests(maxQueuedVectors: 5))
        _ = submit(&machine, vectors: 100)  // leaves at once: not queued
        _ = submit(&machine, vectors: 4)
        #expect(machine.submit(key: "k", vectors: 2, deadline: at(1_000), now: at(0)) == .rejected)
        #expect(machine.queuedVectors == 4)
        _ = submit(&machine, vectors: 1)
        #expect(machine.queuedVectors == 5)
    }

    @Test func aRefusedSearchLeavesItsKeyAsItWas() {
        var machine = Machine(policy: .forTests(maxQueuedVectors: 5, regroupWait: .milliseconds(2)))
        let (x, lone) = submit(&machine)
        let (a, _) = submit(&machine)
        let (b, _) = submit(&machine)
        _ = machine.batchFinished(batchID(lone)!, now: at(0))  // a and b are held for x
        let (x2, regrouped) = submit(&machine)
        #expect(sends(regrouped) == [[a, b, x2]])
        _ = machine.batchFinished(batchID(regrouped)!, now: at(0))  // three callers expected back
        let (a2, _) = submit(&machine)
        // Refused (1 + 5 > 5): not counted as one of the three coming back.
        #expect(machine.submit(key: "k", vectors: 5, deadline: at(1_000), now: at(0)) == .rejected)
        #expect(machine.queuedVectors == 1 && machine.memberCount == 1)
        let (b2, second) = submit(&machine)
        #expect(sends(second).isEmpty)  // still waiting for x
        let (x3, third) = submit(&machine)
        #expect(sends(third) == [[a2, b2, x3]])
        #expect(x >= 0)
    }

    @Test func eachKeyHasItsOwnSlotsAndQueue() {
        var machine = Machine(policy: .forTests())
        let (a, first) = submit(&machine, "filter=a")
        let (b, second) = submit(&machine, "filter=b")
        #expect(sends(first) == [[a]] && sends(second) == [[b]])
        let (c, third) = submit(&machine, "filter=a")
        #expect(sends(third).isEmpty)
        // b's batch finishing does not release a's queue.
        #expect(sends(machine.batchFinished(batchID(second)!, now: at(0))).isEmpty)
        #expect(sends(machine.batchFinished(batchID(first)!, now: at(0))) == [[c]])
    }

    @Test func severalBatchesOfOneKeyMayFlyAtOnce() {
        var machine = Machine(policy: .forTests(maxInflightBatches: 2))
        let (a, first) = submit(&machine)
        let (b, second) = submit(&machine)
        let (c, third) = submit(&machine)
        let (d, _) = submit(&machine)
        #expect(sends(first) == [[a]] && sends(second) == [[b]] && sends(third).isEmpty)
        #expect(sends(machine.batchFinished(batchID(second)!, now: at(0))) == [[c, d]])
    }

    @Test func aQueuedMemberThatIsCancelledLeavesAtOnceAndIsNotSent() {
        var machine = Machine(policy: .forTests())
        let (_, first) = submit(&machine)
        let (b, _) = submit(&machine, vectors: 2)
        let (c, _) = submit(&machine)
        #expect(machine.memberLeft(b, .cancelled) == [.fail(b, .cancelled)])
        #expect(machine.queuedVectors == 1)
        #expect(sends(machine.batchFinished(batchID(first)!, now: at(0))) == [[c]])
        #expect(machine.memberLeft(b, .cancelled).isEmpty)  // already gone
    }

    @Test func aMemberThatLeavesAFlyingBatchFailsAloneAndTheOthersGetTheAnswer() {
        var machine = Machine(policy: .forTests())
        let (_, first) = submit(&machine)
        let (b, _) = submit(&machine)
        let (c, _) = submit(&machine)
        let second = machine.batchFinished(batchID(first)!, now: at(0))
        let batch = batchID(second)!
        #expect(machine.memberLeft(b, .deadlineExceeded) == [.fail(b, .deadlineExceeded)])
        #expect(machine.batchFinished(batch, now: at(0)) == [.deliver(batch, to: [c])])
    }

    @Test func aBatchWhoseMembersAllLeftIsCancelledAndItsSlotFreesWhenItStops() {
        var machine = Machine(policy: .forTests())
        let (a, first) = submit(&machine)
        let (b, _) = submit(&machine)
        let batch = batchID(first)!
        #expect(machine.memberLeft(a, .cancelled) == [.fail(a, .cancelled), .cancel(batch)])
        // The stopped search finishes with nobody to deliver to, and the queue moves on.
        #expect(sends(machine.batchFinished(batch, now: at(0))) == [[b]])
    }

    @Test func deadlinesPassOnTheTimerForQueuedAndFlyingMembers() {
        var machine = Machine(policy: .forTests())
        let (a, first) = submit(&machine, deadline: 300)
        let (b, second) = submit(&machine, deadline: 100)
        let (c, _) = submit(&machine, deadline: 900)
        #expect(first.contains(.armTimer(at(300))))
        #expect(second.contains(.armTimer(at(100))))  // earlier: re-armed
        let fired = machine.timerFired(now: at(100))
        #expect(fired.contains(.fail(b, .deadlineExceeded)))
        #expect(fired.contains(.armTimer(at(300))))
        let later = machine.timerFired(now: at(300))
        #expect(later.contains(.fail(a, .deadlineExceeded)) && later.contains(.cancel(batchID(first)!)))
        #expect(!later.contains(.fail(c, .deadlineExceeded)))
        #expect(later.contains(.armTimer(at(900))))
    }

    @Test func withRegroupTheNextBatchWaitsForTheCallersTheLastOneAnswered() {
        var machine = Machine(policy: .forTests(regroupWait: .milliseconds(2)))
        // a flies, b queues behind it: two groups that would otherwise take turns.
        let (_, first) = submit(&machine)
        let (b, _) = submit(&machine)
        let answered = machine.batchFinished(batchID(first)!, now: at(10))
        #expect(sends(answered).isEmpty && answered.contains(.armTimer(at(12))))
        // a is back with its next search: everyone expected is here, and they leave together.
        let (a2, back) = submit(&machine, now: 11)
        #expect(sends(back) == [[b, a2]])
    }

    @Test func aRegroupHoldEndsWhenItsTimeIsUpAndNeverDelaysALoneCaller() {
        var machine = Machine(policy: .forTests(regroupWait: .milliseconds(2)))
        // One caller at a time: it is the one expected back, so it leaves at once.
        let (_, first) = submit(&machine)
        let answered = machine.batchFinished(batchID(first)!, now: at(5))
        let (a2, again) = submit(&machine, now: 6)
        #expect(sends(again) == [[a2]])
        // ... and no timer is armed for it: an empty hold needs none.
        let timers = (answered + again).filter { if case .armTimer = $0 { true } else { false } }
        #expect(timers.isEmpty)
        // b and c are answered together; only b comes back: it waits until the hold ends.
        var group = Machine(policy: .forTests(regroupWait: .milliseconds(2)))
        let (_, busy) = submit(&group)
        let (b, _) = submit(&group)
        let (c, _) = submit(&group)
        _ = group.batchFinished(batchID(busy)!, now: at(1))
        let together = group.timerFired(now: at(3))
        #expect(sends(together) == [[b, c]])
        _ = group.batchFinished(batchID(together)!, now: at(4))
        let (b2, held) = submit(&group, now: 5)
        #expect(sends(held).isEmpty)
        #expect(sends(group.timerFired(now: at(6))) == [[b2]])
    }

    @Test func withMaxWaitAnIdleSearchWaitsForCompanyUntilTheWaitEndsOrTheBatchIsFull() {
        var machine = Machine(policy: .forTests(maxBatchVectors: 4, maxWait: .microseconds(500)))
        let (a, first) = submit(&machine, now: 0)
        #expect(sends(first).isEmpty && first.contains(.armTimer(at(0) + .microseconds(500))))
        let (b, second) = submit(&machine, vectors: 2, now: 0)
        #expect(sends(second).isEmpty)
        let fired = machine.timerFired(now: at(0) + .microseconds(500))
        #expect(sends(fired) == [[a, b]])
        // A batch that fills up leaves before the wait ends.
        var full = Machine(policy: .forTests(maxBatchVectors: 4, maxWait: .seconds(1)))
        let (c, _) = submit(&full, vectors: 2)
        let (d, filled) = submit(&full, vectors: 2)
        #expect(sends(filled) == [[c, d]])
    }
}
