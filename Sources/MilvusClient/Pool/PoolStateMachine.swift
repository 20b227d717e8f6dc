import VDBMUtils

/// The decisions of the Milvus connection pool, as a value type that takes events and returns
/// actions (after the PostgresNIO pool). It owns no sockets and no clock: the `MilvusConnectionPool`
/// actor executes the actions, and tests drive it with fake events and time.
///
/// The pool keeps `connectionsPerEndpoint` slots for every endpoint. A slot is connecting, ready,
/// or backing off after a failure. Calls go to ready slots (the shell picks the least loaded);
/// while none is ready but one is connecting afresh (at start, or replacing a connection that
/// closed cleanly), calls wait in a bounded FIFO queue until a slot becomes ready or their
/// deadline passes. Once every slot has failed, calls fail at once with `unavailable` until one is
/// ready again, even while reconnects are under way (gRPC's "sticky" transient failure): a
/// reconnect to a frozen Milvus hangs until its timeout, and calls must not hang with it. A slot
/// whose connection fails or closes is reconnected with backoff, so an endpoint that is down is
/// skipped until it comes back.
public struct PoolStateMachine: Sendable {
    public struct SlotID: Hashable, Sendable, CustomStringConvertible {
        public let endpoint: Int
        public let index: Int

        public init(endpoint: Int, index: Int) {
            self.endpoint = endpoint
            self.index = index
        }

        public var description: String { "\(endpoint).\(index)" }
    }

    public typealias WaiterID = Int
    public typealias Instant = ContinuousClock.Instant

    /// A timer the shell arms: at `instant` it reports `timerFired(kind)`. Time enters the pool
    /// only as these instants and the `now` of events, so its tests need no clock and no sleep.
    public struct Timer: Hashable, Sendable {
        public enum Kind: Hashable, Sendable {
            /// The waiter's deadline (the shell forgets it once the waiter is served or failed).
            case waiterDeadline(WaiterID)
            /// The slot's reconnect backoff.
            case reconnect(SlotID)
        }

        public var kind: Kind
        public var instant: Instant

        public init(_ kind: Kind, at instant: Instant) {
            self.kind = kind
            self.instant = instant
        }
    }

    enum SlotState: Equatable, Sendable {
        case connecting(attempt: Int)
        case ready
        /// Connected, but another connection to its endpoint just failed: no new call goes to it
        /// until it answers a PING (`probeAnswered`), or it fails too.
        case probing
        case backingOff(attempt: Int)
    }

    /// What the shell must do.
    public enum Action: Equatable, Sendable {
        /// Open a connection for the slot (`attempt` 0 is the first try after a success).
        case connect(SlotID, attempt: Int)
        /// Arm this timer.
        case schedule(Timer)
        /// Hand a ready slot's connection to a waiting call.
        case serve(WaiterID, SlotID)
        /// Fail a waiting call.
        case fail(WaiterID, PoolFailure)
        /// PING the slot's connection now; report `probeAnswered` when it answers (if it does not,
        /// it closes as failed).
        case probe(SlotID)
    }

    /// What `lease` answers at once.
    public enum LeaseResult: Equatable, Sendable {
        /// Use one of these ready slots (the least loaded).
        case use([SlotID])
        /// Queued: an `Action.serve` or `Action.fail` for this waiter will follow; the shell arms
        /// `timer`, its deadline (none without one).
        case wait(WaiterID, timer: Timer?)
        case fail(PoolFailure)
    }

    public let endpointCount: Int
    public let connectionsPerEndpoint: Int
    public let maxWaiters: Int
    private(set) var slots: [SlotID: SlotState] = [:]
    private var waiters: [WaiterID] = []
    private var nextWaiterID = 0
    private var shuttingDown = false
    /// The reconnect backoff: `JitteredBackoff`'s formula (full jitter, doubling from `initial`
    /// to `max`), drawn from a seeded generator so that tests can predict it.
    public let reconnectInitialBackoff: Duration
    public let reconnectMaxBackoff: Duration
    private var random: SeededRandom

    public init(endpointCount: Int, connectionsPerEndpoint: Int, maxWaiters: Int,
                reconnectInitialBackoff: Duration = .milliseconds(100), reconnectMaxBackoff: Duration = .seconds(1),
                seed: UInt64 = .random(in: .min ... .max)) {
        self.endpointCount = endpointCount
        self.connectionsPerEndpoint = connectionsPerEndpoint
        self.maxWaiters = maxWaiters
        self.reconnectInitialBackoff = reconnectInitialBackoff
        self.reconnectMaxBackoff = reconnectMaxBackoff
        self.random = SeededRandom(seed: seed)
    }

    /// Every slot, in a stable order.
    public var allSlots: [SlotID] {
        (0..<endpointCount).flatMap { endpoint in
            (0..<connectionsPerEndpoint).map { SlotID(endpoint: endpoint, index: $0) }
        }
    }

    public var readySlots: [SlotID] { allSlots.filter { slots[$0] == .ready } }
    public var waiterCount: Int { waiters.count }

    /// Opens every slot.
    public mutating func start() -> [Action] {
        allSlots.map { slot in
            slots[slot] = .connecting(attempt: 0)
            return .connect(slot, attempt: 0)
        }
    }

    /// A call wants a connection, by `deadline` (no deadline: it waits until served or failed).
    public mutating func lease(deadline: Instant? = nil) -> LeaseResult {
        if shuttingDown { return .fail(.shuttingDown) }
        let ready = readySlots
        if !ready.isEmpty { return .use(ready) }
        // Every slot failed (backing off, or reconnecting after a failure): Milvus is unreachable
        // or hung, so say so now rather than at the deadline.
        guard isAnyConnectingAfresh else { return .fail(.unavailable) }
        guard waiters.count < maxWaiters else { return .fail(.queueFull) }
        nextWaiterID += 1
        waiters.append(nextWaiterID)
        return .wait(nextWaiterID, timer: deadline.map { Timer(.waiterDeadline(nextWaiterID), at: $0) })
    }

    /// The slot's connection is up: it serves every waiter (HTTP/2 multiplexes them).
    public mutating func connected(_ slot: SlotID) -> [Action] {
        guard !shuttingDown else { return [] }
        slots[slot] = .ready
        let served = waiters.map { Action.serve($0, slot) }
        waiters.removeAll()
        return served
    }

    /// Connecting failed: back off, then try again. Waiters keep waiting while another slot is
    /// still connecting afresh; once none is, they fail at once with `unavailable`.
    public mutating func connectFailed(_ slot: SlotID, now: Instant = .now) -> [Action] {
        guard !shuttingDown, case .connecting(let attempt) = slots[slot] else { return [] }
        slots[slot] = .backingOff(attempt: attempt + 1)
        let delay = JitteredBackoff<SeededRandom>.delay(attempt: attempt + 1, initialBackoff: reconnectInitialBackoff,
                                                        maxBackoff: reconnectMaxBackoff, multiplier: 2, using: &random)
        var actions: [Action] = [.schedule(Timer(.reconnect(slot), at: now + delay))]
        if readySlots.isEmpty && !isAnyConnectingAfresh {
            actions += waiters.map { .fail($0, .unavailable) }
            waiters.removeAll()
        }
        return actions
    }

    /// A slot connecting for a first time, or replacing a connection that closed cleanly.
    private var isAnyConnectingAfresh: Bool {
        slots.values.contains { $0 == .connecting(attempt: 0) }
    }

    /// The slot's connection closed or went away (GOAWAY): replace it at once. `failed`: it died
    /// of a failure (a PING unanswered: a frozen Milvus; a protocol error), so the replacement is
    /// a retry after a failure, and calls do not wait for it; and the other connections to the
    /// same endpoint are suspect: they take no call until they answer a PING. (They would
    /// otherwise take the failed connection's retried calls and hold them until their own PINGs
    /// time out, one connection after the other.)
    public mutating func disconnected(_ slot: SlotID, failed: Bool = false) -> [Action] {
        guard !shuttingDown, slots[slot] == .ready || slots[slot] == .probing else { return [] }
        let attempt = failed ? 1 : 0
        slots[slot] = .connecting(attempt: attempt)
        var actions: [Action] = [.connect(slot, attempt: attempt)]
        if failed {
            for sibling in allSlots where sibling.endpoint == slot.endpoint && slots[sibling] == .ready {
                slots[sibling] = .probing
                actions.append(.probe(sibling))
            }
        }
        return actions
    }

    /// A suspect connection answered its PING: it takes calls again.
    public mutating func probeAnswered(_ slot: SlotID) -> [Action] {
        guard slots[slot] == .probing else { return [] }
        return connected(slot)
    }

    /// A timer armed by `.schedule` went off: a waiter's deadline passed before any slot became
    /// ready, or a failed slot's backoff is over. (A timer that is no longer wanted does nothing.)
    public mutating func timerFired(_ kind: Timer.Kind) -> [Action] {
        switch kind {
        case .waiterDeadline(let waiter):
            guard let index = waiters.firstIndex(of: waiter) else { return [] }
            waiters.remove(at: index)
            return [.fail(waiter, .deadlineExceeded)]
        case .reconnect(let slot):
            guard !shuttingDown, case .backingOff(let attempt) = slots[slot] else { return [] }
            slots[slot] = .connecting(attempt: attempt)
            return [.connect(slot, attempt: attempt)]
        }
    }

    /// Stops: every waiter fails, nothing reconnects.
    public mutating func shutdown() -> [Action] {
        shuttingDown = true
        let failed = waiters.map { Action.fail($0, .shuttingDown) }
        waiters.removeAll()
        return failed
    }

    /// The least loaded of `candidates` (ties go to the first), by `load`.
    public static func leastLoaded(_ candidates: [SlotID], load: (SlotID) -> Int) -> SlotID? {
        var best: (slot: SlotID, load: Int)?
        for slot in candidates {
            let current = load(slot)
            if best == nil || current < best!.load { best = (slot, current) }
        }
        return best?.slot
    }
}

/// Why the pool could not provide a connection.
public enum PoolFailure: Error, Sendable, Hashable {
    /// No endpoint can be reached right now.
    case unavailable
    /// Too many calls already wait for a connection.
    case queueFull
    case deadlineExceeded
    case shuttingDown
}
