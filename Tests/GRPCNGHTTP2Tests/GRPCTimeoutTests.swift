import Testing
@testable import GRPCNGHTTP2

@Suite struct GRPCTimeoutTests {
    @Test(arguments: [
        ("1H", Duration.seconds(3600)), ("2M", .seconds(120)), ("3S", .seconds(3)),
        ("4m", .milliseconds(4)), ("5u", .microseconds(5)), ("6n", .nanoseconds(6)),
        ("0n", .zero), ("99999999S", .seconds(99_999_999)), ("00000001m", .milliseconds(1)),
    ])
    func parsesEveryUnit(text: String, expected: Duration) {
        #expect(GRPCTimeout.parse(text) == expected)
    }

    @Test(arguments: ["", "S", "1", "123456789S", "1s", "1h", "-1S", "1.5S", " 1S", "1S ", "1x", "１S"])
    func rejectsWhatTheGrammarDoesNot(text: String) {
        #expect(GRPCTimeout.parse(text) == nil)
    }

    @Test func largestValueDoesNotOverflow() {
        #expect(GRPCTimeout.parse("99999999H") == .seconds(Int64(99_999_999) * 3600))
    }

    @Test(arguments: [
        (Duration.nanoseconds(1), "1n"), (.milliseconds(250), "250000u"), (.milliseconds(99), "99000000n"), (.seconds(1), "1000000u"),
        (.seconds(100), "100000m"), (.seconds(100_000), "100000S"), (.seconds(1) + .nanoseconds(1), "1000001u"),
        (.seconds(-1), "0n"), (.zero, "0n"),
    ])
    func encodesInTheFinestUnitThatFitsRoundingUp(timeout: Duration, expected: String) {
        #expect(GRPCTimeout.encode(timeout) == expected)
    }

    @Test func encodeThenParseNeverLosesTime() {
        for timeout: Duration in [.milliseconds(1), .seconds(7), .seconds(86_400 * 30), .nanoseconds(123_456_789_012)] {
            let parsed = GRPCTimeout.parse(GRPCTimeout.encode(timeout))!
            #expect(parsed >= timeout)
        }
    }
}
