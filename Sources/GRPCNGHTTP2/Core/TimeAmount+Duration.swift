import NIOCore

extension TimeAmount {
    /// A NIO time amount for a Swift `Duration`: negative becomes zero, and a duration beyond what
    /// Int64 nanoseconds hold becomes "very long" instead of overflowing.
    init(clamping duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if nanoseconds.overflow {
            self = .nanoseconds(seconds < 0 ? 0 : Int64.max / 4)
        } else {
            self = .nanoseconds(max(0, nanoseconds.partialValue + attoseconds / 1_000_000_000))
        }
    }
}
