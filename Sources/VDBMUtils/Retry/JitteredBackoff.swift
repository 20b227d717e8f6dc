/// Exponential backoff with full jitter: the n-th delay is uniform in
/// `[0, min(maxBackoff, initialBackoff * multiplier^n)]`, so that clients that failed together do
/// not retry together. A plain `Sequence`, with the random source injected for tests.
public struct JitteredBackoff<Random: RandomNumberGenerator>: Sequence, IteratorProtocol {
    private let initialBackoff: Duration
    private let maxBackoff: Duration
    private let multiplier: Double
    private var ceiling: Duration
    private var random: Random

    public init(initialBackoff: Duration, maxBackoff: Duration, multiplier: Double, random: Random) {
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.multiplier = multiplier
        self.ceiling = Swift.min(initialBackoff, maxBackoff)
        self.random = random
    }

    /// The next delay; the sequence never ends (the caller decides how many attempts there are).
    public mutating func next() -> Duration? {
        let delay = ceiling * Double.random(in: 0...1, using: &random)
        let grown = ceiling * multiplier
        ceiling = grown > maxBackoff ? maxBackoff : grown
        return delay
    }
}

extension JitteredBackoff where Random == SystemRandomNumberGenerator {
    public init(initialBackoff: Duration, maxBackoff: Duration, multiplier: Double) {
        self.init(initialBackoff: initialBackoff, maxBackoff: maxBackoff, multiplier: multiplier,
                  random: SystemRandomNumberGenerator())
    }
}

extension JitteredBackoff: Sendable where Random: Sendable {}
