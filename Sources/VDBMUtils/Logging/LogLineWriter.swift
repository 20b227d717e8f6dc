import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Takes finished log lines from any thread and writes them to a file descriptor from a thread of
/// its own, many lines per `write(2)`.
///
/// Why: one `write(2)` per line on the event loop halved vdbm's throughput with the access log on.
/// Here a caller appends its line to one of a few buffers ("lanes", picked by thread, so the event
/// loops do not contend for one lock) and goes on; no I/O happens under any lock. While lines come,
/// the writer thread takes every lane's bytes every 50 ms (sooner when a lane passes 256 KiB) and
/// writes them outside the locks: at one call per millisecond that is one `write(2)` and one
/// wake-up per 50 calls, where a 5 ms round cost one per 5. When a round finds nothing, the writer
/// sleeps until the next line wakes it: an idle process is not woken at all. Only two lines pay
/// for a wake-up (a futex call): the first after a quiet round, and the one that fills a lane past
/// the threshold. Lines are appended whole, so none is torn or interleaved, and one thread's lines
/// keep their order. The buffers are bounded: a line that
/// does not fit is dropped and counted (the event loop never waits for a slow sink), and the
/// writer reports the count in a line of its own once it has caught up. ``close()`` writes every
/// line accepted so far before it returns; lines after it are written directly.
public final class LogLineWriter: Sendable {
    private let descriptor: Int32
    private let laneCapacity: Int
    private let lanes: [Lane]
    private let closed = Atomic<Bool>(false)
    private let droppedSinceReport = Atomic<Int>(0)
    private let droppedTotal = Atomic<Int>(0)
    private let wakeup: WakeupSignal
    /// Set by the writer before it sleeps without a timeout; the next line clears it and wakes it.
    private let sleeping = Atomic<Bool>(false)
    private let thread = Mutex<pthread_t?>(nil)

    /// Starts the writer thread for `descriptor`, buffering at most `capacity` bytes in all.
    public init(fileDescriptor descriptor: Int32, capacity: Int = 16 << 20) {
        self.descriptor = descriptor
        let laneCount = 8
        self.laneCapacity = max(1, capacity / laneCount)
        self.lanes = (0..<laneCount).map { _ in Lane() }
        self.wakeup = WakeupSignal()
        let box = Unmanaged.passRetained(self).toOpaque()
        var handle = pthread_t()
        let started = pthread_create(&handle, nil, { argument in
            let writer = Unmanaged<LogLineWriter>.fromOpaque(argument!).takeRetainedValue()
            writer.drain()
            return nil
        }, box)
        if started == 0 {
            thread.withLock { $0 = handle }
        } else {
            Unmanaged<LogLineWriter>.fromOpaque(box).release()
            closed.store(true, ordering: .sequentiallyConsistent)  // no thread: lines are written directly
        }
    }

    /// Lines dropped since start because the buffers were full.
    public var droppedLines: Int { droppedTotal.load(ordering: .relaxed) }

    /// Queues one finished line (newline included); never blocks on the sink.
    public func submit<Bytes: Collection>(_ line: Bytes) where Bytes.Element == UInt8 {
        submit { $0.append(contentsOf: line) }
    }

    /// Queues the line that `format` appends to the buffer it is given, formatted in place (no
    /// array of its own per line). `format` runs under a lane's lock: it must only append bytes,
    /// ending with a newline. Never blocks on the sink.
    public func submit(formattedBy format: (inout [UInt8]) -> Void) {
        if closed.load(ordering: .sequentiallyConsistent) {
            var line: [UInt8] = []
            format(&line)
            Self.writeAll(line, to: descriptor)
            return
        }
        var wake = false
        let accepted = lanes[Self.laneIndex(count: lanes.count)].bytes.withLock { buffer in
            let start = buffer.count
            if buffer.capacity == 0 { buffer.reserveCapacity(64 << 10) }
            format(&buffer)
            guard buffer.count <= laneCapacity else {
                buffer.removeSubrange(start...)
                return false
            }
            wake = start < Self.wakeThreshold && buffer.count >= Self.wakeThreshold
            return true
        }
        if !accepted {
            droppedSinceReport.add(1, ordering: .relaxed)
            droppedTotal.add(1, ordering: .relaxed)
        }
        // The relaxed load keeps the common case (the writer is on its timed round) to one read.
        if wake || (sleeping.load(ordering: .relaxed) && sleeping.exchange(false, ordering: .sequentiallyConsistent)) {
            wakeup.signal()
        }
    }

    /// Writes every line queued so far and stops the writer thread; later lines are written
    /// directly. Call it once, at exit.
    public func close() {
        guard !closed.exchange(true, ordering: .sequentiallyConsistent) else { return }
        wakeup.signal()
        if let handle = thread.withLock({ $0 }) { pthread_join(handle, nil) }
        // A line that slipped in between the last drain and `closed` is written here.
        Self.writeAll(takeAll(), to: descriptor)
    }

    /// The writer thread: every `pause` while lines come (or sooner, when woken), it takes what the
    /// lanes hold and writes it; after a round that found nothing it sleeps until a line comes.
    /// `close()` wakes it for the last round.
    private func drain() {
        var batch: [UInt8] = []
        var idle = false
        while true {
            if !closed.load(ordering: .sequentiallyConsistent) {
                if idle {
                    sleeping.store(true, ordering: .sequentiallyConsistent)
                    // A line that came between the last round and `sleeping` found no sleeper to
                    // wake: look once more before sleeping.
                    if lanesHoldLines() {
                        sleeping.store(false, ordering: .sequentiallyConsistent)
                    } else {
                        wakeup.wait(for: nil) { self.closed.load(ordering: .sequentiallyConsistent) }
                        sleeping.store(false, ordering: .sequentiallyConsistent)
                    }
                } else {
                    wakeup.wait(for: Self.pause) { self.closed.load(ordering: .sequentiallyConsistent) }
                }
            }
            let done = closed.load(ordering: .sequentiallyConsistent)
            batch.removeAll(keepingCapacity: batch.capacity <= (1 << 20))
            for lane in lanes {
                lane.bytes.withLock { buffer in
                    batch.append(contentsOf: buffer)
                    buffer.removeAll(keepingCapacity: true)
                }
            }
            let dropped = droppedSinceReport.exchange(0, ordering: .relaxed)
            if dropped > 0 {
                batch.append(contentsOf: JSONLogHandler.formatBytes(
                    timestamp: JSONLogHandler.timestamp(), level: .warning,
                    message: "log output too slow: \(dropped) lines dropped", label: "vdbm.log",
                    metadata: ["dropped_lines": .stringConvertible(dropped)]))
            }
            idle = batch.isEmpty
            Self.writeAll(batch, to: descriptor)
            if done { return }
        }
    }

    private func lanesHoldLines() -> Bool {
        lanes.contains { lane in lane.bytes.withLock { !$0.isEmpty } }
    }

    private func takeAll() -> [UInt8] {
        var all: [UInt8] = []
        for lane in lanes {
            lane.bytes.withLock { buffer in
                all.append(contentsOf: buffer)
                buffer.removeAll()
            }
        }
        return all
    }

    /// The calling thread's lane: threads keep their lane, so each thread's lines keep their order.
    /// (A multiplicative hash of the thread's handle, an address: cheaper than `Hasher` on every
    /// line, and its top bits mix all of the address's.)
    private static func laneIndex(count: Int) -> Int {
        #if canImport(Glibc)
        let handle = UInt64(UInt(pthread_self()))
        #else
        let handle = UInt64(UInt(bitPattern: pthread_self()))
        #endif
        return Int((handle &* 0x9E37_79B9_7F4A_7C15) >> 32) % count
    }

    /// How long lines gather between two writes while they come: the most a line waits then.
    static let pause: Duration = .milliseconds(50)
    /// A lane this full wakes the writer before its pause ends (2 MiB lanes never fill between two
    /// rounds then, unless the sink itself is stuck).
    static let wakeThreshold = 256 << 10

    /// Writes all of `bytes`, retrying short writes and EINTR; gives up silently on an error (a
    /// log sink that cannot take the line must not take the daemon down).
    static func writeAll(_ bytes: [UInt8], to descriptor: Int32) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 {
                    if written < 0 && errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }
}

/// One buffer of queued lines and its lock.
private final class Lane: Sendable {
    let bytes = Mutex<[UInt8]>([])
}

/// A condition variable with its mutex: the writer sleeps on it between rounds; a line (after a
/// quiet round, or one that fills a lane) and `close()` wake it early.
private final class WakeupSignal: @unchecked Sendable {
    // @unchecked: the pthread objects are used only through pthread calls, which synchronize.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// A signal not yet consumed by a wait (guarded by `mutex`).
    private var signalled = false

    init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        #if canImport(Glibc)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)  // a wall-clock step does not stretch a pause
        #endif
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Sleeps for `pause` (`nil`: until signalled), or until signalled, or until `isDone` holds
    /// (checked under the mutex, so a signal cannot slip between the check and the sleep: a signal
    /// sent while nobody waits is kept for the next wait).
    func wait(for pause: Duration?, until isDone: () -> Bool) {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        guard let pause else {
            while !signalled && !isDone() { pthread_cond_wait(condition, mutex) }
            signalled = false
            return
        }
        var until = timespec()
        #if canImport(Glibc)
        clock_gettime(CLOCK_MONOTONIC, &until)
        #else
        clock_gettime(CLOCK_REALTIME, &until)
        #endif
        let (seconds, attoseconds) = pause.components
        let nanoseconds = Int(until.tv_nsec) + Int(attoseconds / 1_000_000_000)
        until.tv_sec += Int(seconds) + nanoseconds / 1_000_000_000
        until.tv_nsec = nanoseconds % 1_000_000_000
        while !signalled && !isDone() {
            if pthread_cond_timedwait(condition, mutex, &until) == ETIMEDOUT { break }
        }
        signalled = false
    }

    func signal() {
        pthread_mutex_lock(mutex)
        signalled = true
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }
}
