/// The token bucket of gRPC's retry throttling: every failed attempt takes a token, every success
/// gives back `tokenRatio`, and retries are allowed only while more than half the tokens remain.
/// When most calls fail (an outage), retries stop, so a retry policy never multiplies the load.
public struct RetryBudget: Sendable, Hashable {
    public let maxTokens: Double
    public let tokenRatio: Double
    public private(set) var tokens: Double

    public init(maxTokens: Double = 10, tokenRatio: Double = 0.1) {
        self.maxTokens = maxTokens
        self.tokenRatio = tokenRatio
        self.tokens = maxTokens
    }

    public var allowsRetry: Bool { tokens > maxTokens / 2 }

    public mutating func recordFailure() {
        tokens = max(0, tokens - 1)
    }

    public mutating func recordSuccess() {
        tokens = min(maxTokens, tokens + tokenRatio)
    }
}
