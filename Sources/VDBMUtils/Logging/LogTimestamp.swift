#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `ts` of a log line: UTC as RFC 3339 with milliseconds, e.g. `2026-11-26T15:08:28.123Z`,
/// written straight into bytes (no `String` on the way: every access-log line pays for it).
public enum LogTimestamp {
    /// Appends the current time to `out`.
    public static func appendNow(to out: inout [UInt8]) {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        appendSecond(Int(spec.tv_sec), to: &out)
        appendDigits(Int(spec.tv_nsec / 1_000_000), width: 3, to: &out)
        out.append(UInt8(ascii: "Z"))
    }

    /// Appends the instant `seconds` (since the Unix epoch) plus `milliseconds` to `out`.
    public static func append(seconds: Int, milliseconds: Int, to out: inout [UInt8]) {
        appendSecond(seconds, to: &out)
        appendDigits(milliseconds, width: 3, to: &out)
        out.append(UInt8(ascii: "Z"))
    }

    /// Appends `2026-11-26T15:08:28.` for `seconds` since the Unix epoch.
    ///
    /// Integer arithmetic only (the civil-from-days conversion of the proleptic Gregorian
    /// calendar, after Howard Hinnant's `civil_from_days`): no `gmtime_r`, and no cache shared by
    /// the threads that write lines.
    private static func appendSecond(_ seconds: Int, to out: inout [UInt8]) {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let shifted = days + 719_468                      // days since 0000-03-01
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097             // 0 ... 146096
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)  // from March 1st
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        let month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        appendDigits(year, width: 4, to: &out)
        out.append(UInt8(ascii: "-"))
        appendTwoDigits(month, to: &out)
        out.append(UInt8(ascii: "-"))
        appendTwoDigits(day, to: &out)
        out.append(UInt8(ascii: "T"))
        appendTwoDigits(secondOfDay / 3_600, to: &out)
        out.append(UInt8(ascii: ":"))
        appendTwoDigits(secondOfDay / 60 % 60, to: &out)
        out.append(UInt8(ascii: ":"))
        appendTwoDigits(secondOfDay % 60, to: &out)
        out.append(UInt8(ascii: "."))
    }

    private static func appendTwoDigits(_ value: Int, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "0") + UInt8(value / 10))
        out.append(UInt8(ascii: "0") + UInt8(value % 10))
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
