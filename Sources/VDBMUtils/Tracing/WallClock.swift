#if canImport(Glibc)
import Glibc
#endif

/// Wall-clock time as spans carry it: nanoseconds since 1970 (`CLOCK_REALTIME`, a vDSO read).
public enum WallClock {
    public static func nanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
    }
}
