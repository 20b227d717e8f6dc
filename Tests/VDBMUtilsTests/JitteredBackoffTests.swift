import Testing
import VDBMUtils

/// SplitMix64: a tiny seeded generator, so tests are repeatable.
struct SeededRandom: RandomNumberGenerator, Sendable {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}

/// Always the largest value: every jittered delay sits at its ceiling.
struct TopRandom: RandomNumberGenerator, Sendable {
    mutating func next() -> UInt64 { .max }
}

@Suite struct JitteredBackoffTests {
    @Test func ceilingsGrowByTheMultiplierUpToTheMaximum() {
        var backoff = JitteredBackoff(initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(70), multiplier: 2,
                                      random: TopRandom())
        let delays = (0..<6).map { _ in backoff.next()! }
        let expected: [Duration] = [.milliseconds(10), .milliseconds(20), .milliseconds(40), .milliseconds(70),
                                    .milliseconds(70), .milliseconds(70)]
        for (delay, ceiling) in zip(delays, expected) {
            #expect(delay <= ceiling && delay > ceiling * 0.99, "\(delay) vs \(ceiling)")
        }
    }

    @Test func everyDelayIsWithinZeroAndItsCeiling() {
        var backoff = JitteredBackoff(initialBackoff: .milliseconds(5), maxBackoff: .seconds(1), multiplier: 3,
                                      random: SeededRandom(state: 42))
        var ceiling = Duration.milliseconds(5)
        for _ in 0..<50 {
            let delay = backoff.next()!
            #expect(delay >= .zero && delay <= ceiling)
            ceiling = min(ceiling * 3, .seconds(1))
        }
    }

    @Test func jitterSpreadsDelaysInsteadOfRepeatingOne() {
        var backoff = JitteredBackoff(initialBackoff: .seconds(1), maxBackoff: .seconds(1), multiplier: 1,
                                      random: SeededRandom(state: 7))
        let delays = Set((0..<20).map { _ in backoff.next()! })
        #expect(delays.count == 20)
    }
}
