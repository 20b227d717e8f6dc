#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
import VDBMUtils

/// The log timestamp's own calendar arithmetic against the C library's `gmtime_r`.
@Suite struct LogTimestampTests {
    private func viaLibc(_ seconds: Int, _ milliseconds: Int) -> String {
        var time = seconds
        var parts = tm()
        gmtime_r(&time, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(milliseconds), 3))Z"
    }

    private func ours(_ seconds: Int, _ milliseconds: Int) -> String {
        var bytes: [UInt8] = []
        LogTimestamp.append(seconds: seconds, milliseconds: milliseconds, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func everyDayFrom1970To2400AndLeapDaysMatchTheCLibrary() {
        // Each day at a moving time of day, then the edges: leap days, century years, year ends.
        for day in stride(from: 0, to: 157_000, by: 1) {
            let seconds = day * 86_400 + (day * 7_919) % 86_400
            #expect(ours(seconds, day % 1000) == viaLibc(seconds, day % 1000), "day \(day)")
        }
        for seconds in [0, 59, 951_782_400, 951_868_799, 951_868_800, 4_107_542_399, 4_107_542_400, 1_795_000_000] {
            #expect(ours(seconds, 0) == viaLibc(seconds, 0))
        }
        #expect(ours(951_782_400, 5) == "2000-02-29T00:00:00.005Z")
    }

    @Test func nowIsTheCurrentSecond() {
        var bytes: [UInt8] = []
        let before = time(nil)
        LogTimestamp.appendNow(to: &bytes)
        let after = time(nil)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.count == 24 && text.hasSuffix("Z"))
        #expect(text.prefix(20) == viaLibc(before, 0).prefix(20) || text.prefix(20) == viaLibc(after, 0).prefix(20))
    }
}
