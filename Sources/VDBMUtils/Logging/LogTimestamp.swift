#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The `ts` of a log line: UTC as RFC 3339 with milliseconds, e.g. `2026-11-26T15:08:28.123Z`,
/// written straight into bytes (no `String` on the way: every access-log line pays for it).
public enum LogTimestamp {
    /// Appends the current time to `out`.
    public static func appendNow(to out: inout [UInt8]) {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        let seconds = spec.tv_sec
        // Lines come in thousands per second: take the date and time from the last line's when
        // the second is the same, and only write the milliseconds.
        let cached = lastSecond.withLock { last in last.seconds == seconds ? last.text : nil }
        if let cached {
            out.append(contentsOf: cached)
        } else {
            var text: [UInt8] = []
            appendSecond(seconds, to: &text)
            lastSecond.withLock { $0 = (seconds, text) }
            out.append(contentsOf: text)
        }
        appendDigits(Int(spec.tv_nsec / 1_000_000), width: 3, to: &out)
        out.append(UInt8(ascii: "Z"))
    }

    private static let lastSecond = Mutex<(seconds: Int, text: [UInt8])>((-1, []))

    /// Appends the instant `seconds` (since the Unix epoch) plus `milliseconds` to `out`.
    public static func append(seconds: Int, milliseconds: Int, to out: inout [UInt8]) {
        appendSecond(seconds, to: &out)
        appendDigits(milliseconds, width: 3, to: &out)
        out.append(UInt8(ascii: "Z"))
    }

    /// Appends `2026-11-26T15:08:28.` for `seconds` since the Unix epoch.
    private static func appendSecond(_ seconds: Int, to out: inout [UInt8]) {
        var seconds = seconds
        var parts = tm()
        gmtime_r(&seconds, &parts)
        appendDigits(Int(parts.tm_year) + 1900, width: 4, to: &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(Int(parts.tm_mon) + 1, width: 2, to: &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(Int(parts.tm_mday), width: 2, to: &out)
        out.append(UInt8(ascii: "T"))
        appendDigits(Int(parts.tm_hour), width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(Int(parts.tm_min), width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(Int(parts.tm_sec), width: 2, to: &out)
        out.append(UInt8(ascii: "."))
    }

    /// Appends a non-negative `value` in decimal, left-padded with zeros to `width` digits.
    public static func appendDigits(_ value: Int, width: Int, to out: inout [UInt8]) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var rest = max(0, value)
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[19 - count] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                count += 1
            } while rest > 0 && count < 20
            while count < min(width, 20) {
                buffer[19 - count] = UInt8(ascii: "0")
                count += 1
            }
            out.append(contentsOf: buffer[(20 - count)...])
        }
    }
}
