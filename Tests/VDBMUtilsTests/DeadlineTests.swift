import Testing
import VDBMUtils

@Suite struct DeadlineTests {
    @Test func remainingTimeCountsDownFromTheStart() {
        let start = ContinuousClock.now
        let deadline = Deadline.after(.seconds(2), from: start)
        #expect(deadline.remaining(now: start) == .seconds(2))
        #expect(deadline.remaining(now: start.advanced(by: .seconds(3))) == .seconds(-1))
    }

    @Test func hasPassedAtAndAfterTheInstant() {
        let start = ContinuousClock.now
        let deadline = Deadline.after(.milliseconds(5), from: start)
        #expect(!deadline.hasPassed(now: start))
        #expect(deadline.hasPassed(now: start.advanced(by: .milliseconds(5))))
    }

    @Test func earlierDeadlinesSortFirst() {
        let start = ContinuousClock.now
        #expect(Deadline.after(.seconds(1), from: start) < Deadline.after(.seconds(2), from: start))
    }
}
