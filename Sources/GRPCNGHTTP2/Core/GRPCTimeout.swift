/// The `grpc-timeout` header: 1 to 8 ASCII digits followed by one unit letter
/// (`H` hours, `M` minutes, `S` seconds, `m` milliseconds, `u` microseconds, `n` nanoseconds).
public enum GRPCTimeout {
    /// Parses a header value; `nil` when it does not follow the grammar.
    public static func parse(_ value: some StringProtocol) -> Duration? {
        let bytes = Array(value.utf8)
        guard bytes.count >= 2, bytes.count <= 9 else { return nil }
        var amount: Int64 = 0
        for digit in bytes.dropLast() {
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") else { return nil }
            amount = amount * 10 + Int64(digit - UInt8(ascii: "0"))
        }
        switch bytes.last! {
        case UInt8(ascii: "H"): return .seconds(amount * 3600)
        case UInt8(ascii: "M"): return .seconds(amount * 60)
        case UInt8(ascii: "S"): return .seconds(amount)
        case UInt8(ascii: "m"): return .milliseconds(amount)
        case UInt8(ascii: "u"): return .microseconds(amount)
        case UInt8(ascii: "n"): return .nanoseconds(amount)
        default: return nil
        }
    }

    /// Encodes a timeout in the finest unit whose value fits in 8 digits (rounding up, so the
    /// peer never sees less time than there is); a negative timeout encodes as `0n`.
    public static func encode(_ timeout: Duration) -> String {
        guard timeout > .zero else { return "0n" }
        let (seconds, attoseconds) = timeout.components
        let wholeNanos = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let partNanos = (attoseconds + 999_999_999) / 1_000_000_000
        let sum = wholeNanos.partialValue.addingReportingOverflow(partNanos)
        let total: Int64 = wholeNanos.overflow || sum.overflow ? .max : sum.partialValue
        let units: [(scale: Int64, unit: Character)] = [
            (1, "n"), (1_000, "u"), (1_000_000, "m"), (1_000_000_000, "S"),
            (60_000_000_000, "M"), (3_600_000_000_000, "H"),
        ]
        for (scale, unit) in units {
            let value = total / scale + (total % scale == 0 ? 0 : 1)
            if value < 100_000_000 { return "\(value)\(unit)" }
        }
        return "99999999H"
    }
}
