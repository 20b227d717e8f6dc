import Synchronization

/// Short per-process connection tags (`c1a`, `c1b`, ...), so that made-up request ids
/// (`<tag>-<stream id>`) are unique within a process run and cheap to make.
enum ConnectionTag {
    private static let counter = Atomic<UInt64>(0)

    static func next() -> String {
        let value = counter.wrappingAdd(1, ordering: .relaxed).newValue
        return "c" + String(value, radix: 36)
    }
}
