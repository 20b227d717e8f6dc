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

extension JitteredBackoff {
    /// The `attempt`-th delay (from 1) of this formula, for callers that keep no sequence (the
    /// pool's reconnects): uniform in `[0, min(maxBackoff, initialBackoff * multiplier^(attempt-1))]`.
    public static func delay(attempt: Int, initialBackoff: Duration, maxBackoff: Duration, multiplier: Double,
                             using random: inout Random) -> Duration {
        var ceiling = Swift.min(initialBackoff, maxBackoff)
        for _ in 1..<Swift.max(1, attempt) where ceiling < maxBackoff {
            let grown = ceiling * multiplier
            ceiling = grown > maxBackoff ? maxBackoff : grown
        }
        return ceiling * Double.random(in: 0...1, using: &random)
    }
}

/// A small seeded generator (SplitMix64): reproducible jitter in state machines and their tests.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension JitteredBackoff where Random == SystemRandomNumberGenerator {
    public init(initialBackoff: Duration, maxBackoff: Duration, multiplier: Double) {
        self.init(initialBackoff: initialBackoff, maxBackoff: maxBackoff, multiplier: multiplier,
                  random: SystemRandomNumberGenerator())
    }
}

extension JitteredBackoff: Sendable where Random: Sendable {}
