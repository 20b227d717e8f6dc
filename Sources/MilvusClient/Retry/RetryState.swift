import VDBMUtils

/// The retry bookkeeping of one call: which attempt it is on and the backoff it has used.
/// A value type; the code that runs attempts asks it after each failure what to do.
public struct RetryState<Random: RandomNumberGenerator>: Sendable where Random: Sendable {
    public let policy: RetryPolicy
    public let idempotency: Idempotency
    public let deadline: Deadline
    public private(set) var attempt = 1
    private var backoff: JitteredBackoff<Random>

    public init(policy: RetryPolicy, idempotency: Idempotency, deadline: Deadline, random: Random) {
        self.policy = policy
        self.idempotency = idempotency
        self.deadline = deadline
        self.backoff = JitteredBackoff(initialBackoff: policy.initialBackoff, maxBackoff: policy.maxBackoff,
                                       multiplier: policy.multiplier, random: random)
    }

    /// Decides after attempt `attempt` failed with `failure`. `budget` is the shared retry budget
    /// (the failure is recorded in it); `now` is the current time.
    public mutating func decide(after failure: CallFailure, budget: inout RetryBudget,
                                now: ContinuousClock.Instant = .now) -> RetryDecision {
        budget.recordFailure()
        guard RetryPolicy.isRepeatable(failure, idempotency: idempotency) else { return .stop(.notRepeatable) }
        guard attempt < policy.maxAttempts else { return .stop(.attemptsExhausted) }
        guard budget.allowsRetry else { return .stop(.budgetExhausted) }
        let delay = backoff.next()!
        guard delay < deadline.remaining(now: now) else { return .stop(.deadlineTooClose) }
        attempt += 1
        return .retry(after: delay)
    }
}

extension RetryState where Random == SystemRandomNumberGenerator {
    public init(policy: RetryPolicy, idempotency: Idempotency, deadline: Deadline) {
        self.init(policy: policy, idempotency: idempotency, deadline: deadline, random: SystemRandomNumberGenerator())
    }
}
