import Testing
@testable import VDBMService
import VDBMUtils

/// Admission decisions with instants chosen by the test.
@Suite struct AdmissionStateMachineTests {
    typealias Machine = AdmissionStateMachine<String>
    private let t0 = ContinuousClock.now
    private func at(_ ms: Int) -> ContinuousClock.Instant { t0 + .milliseconds(ms) }

    @Test func callsUnderTheLimitsStartAtOnce() {
        var machine = Machine(totalLimit: 3, laneLimits: ["write": 2])
        #expect(machine.arrive("write", deadline: at(1_000), now: at(0)) == .admitted)
        #expect(machine.arrive("write", deadline: at(1_000), now: at(0)) == .admitted)
        #expect(machine.arrive("read", deadline: at(1_000), now: at(0)) == .admitted)
        #expect(machine.runningCount == 3)
    }

    @Test func aFullClassQueuesItsCallsFirstInFirstOutAndOthersStillStart() {
        var machine = Machine(totalLimit: 10, laneLimits: ["write": 1])
        #expect(machine.arrive("write", deadline: at(1_000), now: at(0)) == .admitted)
        guard case .wait(let first) = machine.arrive("write", deadline: at(1_000), now: at(0)) else {
            Issue.record("expected to wait")
            return
        }
        #expect(machine.arrive("read", deadline: at(1_000), now: at(0)) == .admitted)
        // One place frees: the first waiter gets it (and the write limit is reached again).
        #expect(machine.finished("write", after: .milliseconds(10)) == [.admit(first)])
        #expect(machine.waitingCount == 0 && machine.runningCount == 2)
    }

    @Test func aQueueAsLongAsTheLimitRefusesAtOnce() {
        var machine = Machine(totalLimit: 10, laneLimits: ["write": 2])
        for _ in 0..<2 { _ = machine.arrive("write", deadline: at(1_000), now: at(0)) }
        for _ in 0..<2 {
            guard case .wait = machine.arrive("write", deadline: at(1_000), now: at(0)) else {
                Issue.record("expected to wait")
                return
            }
        }
        #expect(machine.arrive("write", deadline: at(1_000), now: at(0)) == .refused(.queueFull(.lane("write", 2))))
    }

    @Test func theTotalLimitHoldsEveryClass() {
        var machine = Machine(totalLimit: 2, laneLimits: [:])
        _ = machine.arrive("a", deadline: at(1_000), now: at(0))
        _ = machine.arrive("b", deadline: at(1_000), now: at(0))
        guard case .wait(let waiter) = machine.arrive("c", deadline: at(1_000), now: at(0)) else {
            Issue.record("expected to wait")
            return
        }
        #expect(machine.finished("a", after: .milliseconds(5)) == [.admit(waiter)])
    }

    /// With calls of a class taking 100 ms on average and 1 allowed at once, a call with 50 ms
    /// left cannot expect to start in time: it is refused now, not at its deadline.
    @Test func aCallThatCannotStartBeforeItsDeadlineIsRefusedAtOnce() {
        var machine = Machine(totalLimit: 10, laneLimits: ["write": 1])
        _ = machine.arrive("write", deadline: at(10_000), now: at(0))
        _ = machine.finished("write", after: .milliseconds(100))  // the average is known now
        _ = machine.arrive("write", deadline: at(10_000), now: at(0))
        #expect(machine.arrive("write", deadline: at(50), now: at(0))
                == .refused(.wouldMissDeadline(.lane("write", 1), expectedWait: .milliseconds(100))))
        guard case .wait = machine.arrive("write", deadline: at(500), now: at(0)) else {
            Issue.record("a call with time to spare waits")
            return
        }
    }

    @Test func aWaiterThatLeavesGivesUpItsPlaceInTheQueue() {
        var machine = Machine(totalLimit: 10, laneLimits: ["write": 1])
        _ = machine.arrive("write", deadline: at(1_000), now: at(0))
        guard case .wait(let gone) = machine.arrive("write", deadline: at(1_000), now: at(0)) else { return }
        machine.left(gone)
        #expect(machine.waitingCount == 0)
        #expect(machine.finished("write", after: .milliseconds(1)) == [])
        #expect(machine.runningCount == 0)
    }

    /// A call whose class has room still queues behind earlier waiters of its class.
    @Test func noCallOvertakesTheWaitersOfItsClass() {
        var machine = Machine(totalLimit: 2, laneLimits: ["write": 2])
        _ = machine.arrive("read", deadline: at(1_000), now: at(0))
        _ = machine.arrive("read", deadline: at(1_000), now: at(0))
        guard case .wait(let first) = machine.arrive("write", deadline: at(1_000), now: at(0)) else { return }
        guard case .wait(let second) = machine.arrive("write", deadline: at(1_000), now: at(0)) else { return }
        #expect(machine.finished("read", after: .milliseconds(1)) == [.admit(first)])
        #expect(machine.finished("read", after: .milliseconds(1)) == [.admit(second)])
    }
}
