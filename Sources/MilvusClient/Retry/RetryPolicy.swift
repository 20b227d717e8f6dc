/// When and how often a failed call is tried again, as data (after gRPC's retry policy).
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts in all, the first included; 1 disables retries.
    public var maxAttempts: Int
    public var initialBackoff: Duration
    public var maxBackoff: Duration
    public var multiplier: Double

    public init(maxAttempts: Int = 4, initialBackoff: Duration = .milliseconds(20), maxBackoff: Duration = .seconds(2),
                multiplier: Double = 2) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.multiplier = multiplier
    }

    /// Whether `failure` may be repeated at all for a call of this `idempotency`. Only failures
    /// that prove the call had no effect repeat a non-idempotent write.
    public static func isRepeatable(_ failure: CallFailure, idempotency: Idempotency) -> Bool {
        switch failure {
        case .notProcessed, .retriable: true
        case .unavailable: idempotency == .idempotent
        case .deadlineExceeded, .cancelled, .permanent, .unimplemented, .unauthenticated, .permissionDenied, .answered: false
        }
    }
}

/// What to do after a failed attempt.
public enum RetryDecision: Sendable, Hashable {
    case retry(after: Duration)
    case stop(StopReason)

    public enum StopReason: Sendable, Hashable {
        case notRepeatable
        case attemptsExhausted
        /// Waiting for the next attempt would spend the rest of the deadline.
        case deadlineTooClose
        /// Too many calls fail: retries would only add load (see `RetryBudget`).
        case budgetExhausted
    }
}
