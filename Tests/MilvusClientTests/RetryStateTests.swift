import MilvusClient
import Testing
import VDBMUtils

private struct TopRandom: RandomNumberGenerator, Sendable {
    mutating func next() -> UInt64 { .max }
}

@Suite struct RetryStateTests {
    private let start = ContinuousClock.now
    private let policy = RetryPolicy(maxAttempts: 4, initialBackoff: .milliseconds(10), maxBackoff: .seconds(1),
                                     multiplier: 2)

    private func state(_ idempotency: Idempotency, timeout: Duration = .seconds(10)) -> RetryState<TopRandom> {
        RetryState(policy: policy, idempotency: idempotency, deadline: .after(timeout, from: start), random: TopRandom())
    }

    @Test func notProcessedFailuresRetryEvenAnInsert() {
        var retry = state(.nonIdempotent)
        var budget = RetryBudget()
        guard case .retry(let delay) = retry.decide(after: .notProcessed("REFUSED_STREAM"), budget: &budget, now: start)
        else { Issue.record("expected a retry"); return }
        #expect(delay <= .milliseconds(10))
        #expect(retry.attempt == 2)
    }

    @Test func aWriteThatMayHaveBeenAppliedIsNeverRetried() {
        var retry = state(.nonIdempotent)
        var budget = RetryBudget()
        #expect(retry.decide(after: .unavailable("connection reset after the request was sent"), budget: &budget,
                             now: start) == .stop(.notRepeatable))
        #expect(retry.attempt == 1)
    }

    @Test func aReadIsRetriedOnUnavailable() {
        var retry = state(.idempotent)
        var budget = RetryBudget()
        guard case .retry = retry.decide(after: .unavailable("reset"), budget: &budget, now: start) else {
            Issue.record("expected a retry"); return
        }
    }

    @Test func milvusRateLimitIsRetriedForAnyCall() {
        var retry = state(.nonIdempotent)
        var budget = RetryBudget()
        guard case .retry = retry.decide(after: .retriable(code: 8, reason: "rate limit exceeded"), budget: &budget,
                                         now: start)
        else { Issue.record("expected a retry"); return }
    }

    @Test(arguments: [CallFailure.permanent("collection not found"), .deadlineExceeded])
    func permanentFailuresStopAtOnce(failure: CallFailure) {
        var retry = state(.idempotent)
        var budget = RetryBudget()
        #expect(retry.decide(after: failure, budget: &budget, now: start) == .stop(.notRepeatable))
    }

    @Test func stopsAfterMaxAttempts() {
        var retry = state(.idempotent)
        var budget = RetryBudget(maxTokens: 1000)
        var decisions: [RetryDecision] = []
        for _ in 0..<4 { decisions.append(retry.decide(after: .notProcessed("x"), budget: &budget, now: start)) }
        #expect(decisions.prefix(3).allSatisfy { if case .retry = $0 { true } else { false } })
        #expect(decisions[3] == .stop(.attemptsExhausted))
        #expect(retry.attempt == 4)
    }

    @Test func retryStopsWhenTheDeadlineIsSpent() {
        var retry = state(.idempotent, timeout: .milliseconds(25))
        var budget = RetryBudget()
        // Delays sit at their ceilings (10 ms, then 20 ms): the second no longer fits in what is left.
        guard case .retry = retry.decide(after: .notProcessed("x"), budget: &budget, now: start) else {
            Issue.record("expected a first retry"); return
        }
        let later = start.advanced(by: .milliseconds(12))
        #expect(retry.decide(after: .notProcessed("x"), budget: &budget, now: later) == .stop(.deadlineTooClose))
    }

    @Test func exhaustedBudgetStopsRetries() {
        var budget = RetryBudget(maxTokens: 4, tokenRatio: 0.5)
        var first = state(.idempotent)
        var second = state(.idempotent)
        guard case .retry = first.decide(after: .notProcessed("x"), budget: &budget, now: start) else {
            Issue.record("expected a retry while tokens remain"); return
        }
        #expect(second.decide(after: .notProcessed("x"), budget: &budget, now: start) == .stop(.budgetExhausted))
        #expect(budget.tokens == 2)
    }

    @Test func successesRefillTheBudget() {
        var budget = RetryBudget(maxTokens: 4, tokenRatio: 0.5)
        budget.recordFailure()
        budget.recordFailure()
        #expect(!budget.allowsRetry)
        budget.recordSuccess()
        #expect(budget.allowsRetry)
        for _ in 0..<20 { budget.recordSuccess() }
        #expect(budget.tokens == 4)
    }
}
