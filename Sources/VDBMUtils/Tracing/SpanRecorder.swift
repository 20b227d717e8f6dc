import Synchronization

/// Where finished spans wait for the exporter: the sampling ratio, and a bounded buffer that
/// calls hand spans to in O(1) under a short lock (never I/O). A full buffer drops the newest
/// span and counts it: tracing never slows or fails a call.
public final class SpanRecorder: Sendable {
    /// The share of new traces sampled (a continued trace follows its caller's flag).
    public let sampleRatio: Double
    /// Spans that may wait for the exporter.
    public let capacity: Int
    /// Spans that make one export request, and wake the exporter before its interval is over.
    public let batchSize: Int

    private let threshold: UInt64
    private let state: Mutex<State>

    private struct State {
        var spans: [SpanRecord] = []
        var dropped = 0
        var closed = false
        var waiter: CheckedContinuation<Void, Never>?
        /// How many waiting spans end the wait.
        var wakeAt = Int.max
    }

    public init(sampleRatio: Double, capacity: Int = 8192, batchSize: Int = 512) {
        precondition(sampleRatio >= 0 && sampleRatio <= 1 && capacity > 0 && batchSize > 0)
        self.sampleRatio = sampleRatio
        self.capacity = capacity
        self.batchSize = min(batchSize, capacity)
        // ratio × 2^64, saturating at 1.0 (every hash is below UInt64.max except UInt64.max itself).
        threshold = sampleRatio >= 1 ? .max : UInt64(sampleRatio * 18_446_744_073_709_551_616.0)
        state = Mutex(State())
    }

    /// Whether a new trace with this id is sampled: a hash of the id against the ratio, so every
    /// process sampling the same trace id at the same ratio decides alike.
    public func samples(traceHigh: UInt64, traceLow: UInt64) -> Bool {
        if sampleRatio >= 1 { return true }
        if sampleRatio <= 0 { return false }
        // splitmix64's finalizer: vdbm's own trace ids differ only in their low bits.
        var mixed = traceHigh ^ (traceLow &* 0x9E37_79B9_7F4A_7C15)
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        mixed ^= mixed >> 31
        return mixed < threshold
    }

    /// Keeps a finished span for the exporter (or counts it dropped when the buffer is full).
    public func record(_ span: SpanRecord) {
        let wake = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.closed, state.spans.count < capacity else {
                state.dropped += 1
                return nil
            }
            state.spans.append(span)
            guard state.spans.count >= state.wakeAt else { return nil }
            defer { state.waiter = nil; state.wakeAt = .max }
            return state.waiter
        }
        wake?.resume()
    }

    /// Takes up to `limit` waiting spans, oldest first.
    public func take(upTo limit: Int) -> [SpanRecord] {
        state.withLock { state in
            guard state.spans.count > limit else {
                defer { state.spans.removeAll(keepingCapacity: true) }
                return state.spans
            }
            defer { state.spans.removeFirst(limit) }
            return Array(state.spans.prefix(limit))
        }
    }

    /// Spans dropped so far because the buffer was full (or tracing had stopped).
    public var droppedSpans: Int { state.withLock { $0.dropped } }

    /// Whether ``close()`` was called.
    public var isClosed: Bool { state.withLock { $0.closed } }

    /// Spans waiting now.
    public var waitingSpans: Int { state.withLock { $0.spans.count } }

    /// Returns once `count` spans wait (1: any; the exporter waits so while idle, with no timer,
    /// then for a whole ``batchSize`` or its interval), ``wake()`` is called, or the recorder is
    /// closed.
    public func waitForSpans(atLeast count: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                // (One waiter at a time: an earlier one is let go.)
                let previous = state.waiter.map { [$0] } ?? []
                state.waiter = nil
                state.wakeAt = .max
                if state.closed || state.spans.count >= count { return previous + [continuation] }
                state.waiter = continuation
                state.wakeAt = count
                return previous
            }
            for waiter in ready { waiter.resume() }
        }
    }

    /// Ends a ``waitForSpans(atLeast:)`` now (the exporter's interval is over).
    public func wake() {
        let waiter = state.withLock { state in
            defer { state.waiter = nil; state.wakeAt = .max }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Accepts no more spans (they count as dropped) and ends any wait; what waits stays takeable.
    public func close() {
        let waiter = state.withLock { state in
            state.closed = true
            defer { state.waiter = nil; state.wakeAt = .max }
            return state.waiter
        }
        waiter?.resume()
    }
}
