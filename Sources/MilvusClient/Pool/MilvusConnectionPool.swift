import GRPCNGHTTP2
import CoreMetrics
import Logging
import NIOCore
import Synchronization
import VDBMUtils

/// Where a Milvus proxy listens.
public struct MilvusEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { "\(host):\(port)" }
}

/// The I/O shell of the pool: it runs `PoolStateMachine`'s actions (connects, backoff timers,
/// handing connections to waiting calls) and feeds it what happens. All its state is in this actor.
public actor MilvusConnectionPool {
    public struct Configuration: Sendable {
        public var endpoints: [MilvusEndpoint]
        public var connectionsPerEndpoint: Int
        public var maxWaiters: Int
        /// Reconnect backoff after failures: full jitter, doubling from the initial ceiling to the
        /// maximum. The maximum is short (1 s) on purpose: a refused connect costs nothing, and
        /// the first call after Milvus comes back should not wait for a long backoff.
        public var reconnectInitialBackoff: Duration
        public var reconnectMaxBackoff: Duration
        public var client: GRPCClientConfiguration
        /// The call a new connection must answer before calls use it (`nil`: none, a connect is enough).
        public var readinessProbe: MilvusReadinessProbe?
        /// When an endpoint whose connections are up is taken out of rotation for failing its calls
        /// (with one endpoint, never).
        public var outliers: OutlierDetector.Policy = OutlierDetector.Policy()

        public init(endpoints: [MilvusEndpoint], connectionsPerEndpoint: Int = 2, maxWaiters: Int = 1024,
                    reconnectInitialBackoff: Duration = .milliseconds(100), reconnectMaxBackoff: Duration = .seconds(1),
                    client: GRPCClientConfiguration = GRPCClientConfiguration(),
                    readinessProbe: MilvusReadinessProbe? = MilvusReadinessProbe()) {
            self.endpoints = endpoints
            self.connectionsPerEndpoint = max(1, connectionsPerEndpoint)
            self.maxWaiters = maxWaiters
            self.reconnectInitialBackoff = reconnectInitialBackoff
            self.reconnectMaxBackoff = reconnectMaxBackoff
            self.client = client
            self.readinessProbe = readinessProbe
        }
    }

    private let configuration: Configuration
    private let group: any EventLoopGroup
    private let logger: Logger
    private var state: PoolStateMachine
    private var connections: [PoolStateMachine.SlotID: GRPCClientConnection] = [:]
    private var waiters: [PoolStateMachine.WaiterID: CheckedContinuation<GRPCClientConnection, any Error>] = [:]
    /// The state machine's armed timers (waiter deadlines, reconnect backoffs), by kind.
    private var timers: [PoolStateMachine.Timer.Kind: Task<Void, Never>] = [:]
    private var started = false
    private var readinessHandler: (@Sendable (Bool) -> Void)?
    /// The ready connections with their endpoints, published for `readyConnection()` after every
    /// change; the lock is held only to copy or replace the array.
    private let published = Mutex<[(endpoint: Int, connection: GRPCClientConnection)]>([])
    /// Outlier ejection (only with several endpoints), outside the actor: every call consults it.
    private let outliers: OutlierState?
    private let endpointIndex: [String: Int]
    private let ejections = Counter(label: "vdbm_milvus_endpoint_ejections_total")
    private var reportedReadiness: Bool?
    /// The pool's figures for the metrics backend, updated after every change.
    private let gauges = (ready: Gauge(label: "vdbm_milvus_pool_connections", dimensions: [("state", "ready")]),
                          notReady: Gauge(label: "vdbm_milvus_pool_connections", dimensions: [("state", "not_ready")]),
                          waiting: Gauge(label: "vdbm_milvus_pool_waiting_calls"))

    /// How many times `client.keepaliveInterval` each endpoint's next connection waits before an
    /// idle PING: doubled each time the endpoint ends a connection for too many PINGs (as
    /// grpc-core does; Milvus Lite 2.5.1 allows one idle PING in 5 minutes), at most 64 times.
    private var keepaliveScale: [Int]
    /// Connects under way, by slot: shutdown waits for them.
    private var connectTasks: [PoolStateMachine.SlotID: Task<Void, Never>] = [:]
    /// Connections made and not yet through the readiness probe: shutdown closes them, which ends
    /// their probe at once (a probe may otherwise wait for its whole timeout).
    private var probing: [PoolStateMachine.SlotID: GRPCClientConnection] = [:]
    private var isShutDown = false
    /// The scale each slot's connection was made with: connections of one endpoint that end
    /// together double the interval once, not once each.
    private var connectionKeepaliveScale: [PoolStateMachine.SlotID: Int] = [:]

    /// The idle PING interval each endpoint's next connection gets.
    public var keepaliveIntervals: [Duration] { keepaliveScale.map { configuration.client.keepaliveInterval * $0 } }

    /// The time its timers, its outlier detection and the client's retry backoffs run on
    /// (injected: tests move a clock by hand).
    let clock: any PoolClock

    public init(configuration: Configuration, group: any EventLoopGroup, logger: Logger,
                clock: any PoolClock = ContinuousPoolClock()) {
        self.configuration = configuration
        self.group = group
        self.logger = logger
        self.clock = clock
        keepaliveScale = Array(repeating: 1, count: configuration.endpoints.count)
        outliers = configuration.endpoints.count > 1
            ? OutlierState(OutlierDetector(endpoints: configuration.endpoints.count, policy: configuration.outliers, now: clock.now)) : nil
        endpointIndex = Dictionary(configuration.endpoints.enumerated().map { ($1.description, $0) }, uniquingKeysWith: { a, _ in a })
        self.state = PoolStateMachine(endpointCount: configuration.endpoints.count,
                                      connectionsPerEndpoint: configuration.connectionsPerEndpoint,
                                      maxWaiters: configuration.maxWaiters,
                                      reconnectInitialBackoff: configuration.reconnectInitialBackoff,
                                      reconnectMaxBackoff: configuration.reconnectMaxBackoff)
    }

    /// Opens the connections (in the background: calls wait for the first one that is ready).
    public func start() {
        guard !started else { return }
        started = true
        execute(state.start())
    }

    /// The common case without entering the actor: a ready, usable connection (on the caller's
    /// event loop if there is one, least loaded among those). `nil` when there is none: then
    /// `connection(deadline:)` waits for one or fails.
    public nonisolated func readyConnection() -> GRPCClientConnection? {
        let ready = published.withLock { $0 }
        // The clock is read only with several endpoints (a single one has no outlier detection).
        let route = outliers.map { outliers in
            let now = clock.now
            return outliers.detector.withLock { $0.route(now: now) }
        }
        var best: GRPCClientConnection?
        var bestScore = Int.max
        for (endpoint, connection) in ready where connection.isUsable {
            if let route {
                // A due probe takes this call; otherwise ejected endpoints are skipped.
                guard route.probe.map({ $0 == endpoint }) ?? route.allowed[endpoint] else { continue }
            }
            // Another loop's connection counts as 64 calls busier: it costs a thread hop each way.
            let score = connection.activeCalls + (connection.isOnCurrentEventLoop ? 0 : 64)
            if score < bestScore { (best, bestScore) = (connection, score) }
        }
        return best
    }

    /// The outcome of a call on `connection`, for outlier ejection: `true` when Milvus answered
    /// (whatever its status), `false` when the call failed in a way that blames the endpoint.
    public nonisolated func recordOutcome(_ connection: GRPCClientConnection, success: Bool) {
        guard let outliers, let endpoint = endpointIndex[connection.target] else { return }
        let now = clock.now
        guard let change = outliers.detector.withLock({ $0.record(endpoint, success: success, now: now) }) else { return }
        switch change {
        case .ejected(let index, let duration):
            ejections.increment()
            logger.warning("Milvus endpoint failing its calls: out of rotation", metadata: [
                "endpoint": "\(configuration.endpoints[index])", "for_ms": .stringConvertible(duration.inMilliseconds.rounded()),
            ])
        case .restored(let index):
            logger.notice("Milvus endpoint answered its probe call: back in rotation",
                          metadata: ["endpoint": "\(configuration.endpoints[index])"])
        }
    }

    /// A usable connection: the least loaded ready one, or the first to become ready before `deadline`.
    public func connection(deadline: Deadline) async throws(PoolFailure) -> GRPCClientConnection {
        start()
        dropUnusableConnections()
        switch state.lease(deadline: deadline.instant) {
        case .use(let slots):
            // (Calls usually take `readyConnection()` and never get here with ready slots.)
            let slot = PoolStateMachine.leastLoaded(slots) { connections[$0]?.activeCalls ?? .max }!
            return connections[slot]!
        case .fail(let failure):
            throw failure
        case .wait(let waiter, let timer):
            do {
                return try await withCheckedThrowingContinuation { continuation in
                    waiters[waiter] = continuation
                    if let timer { arm(timer) }
                }
            } catch let failure as PoolFailure {
                throw failure
            } catch {
                throw .unavailable
            }
        }
    }

    /// What `GetServerInfo` reports about the pool.
    public struct Snapshot: Sendable, Hashable {
        public var connections: Int
        public var readyConnections: Int
        public var activeCalls: Int
        public var waitingCalls: Int
    }

    public var snapshot: Snapshot {
        dropUnusableConnections()
        let ready = state.readySlots
        return Snapshot(connections: state.allSlots.count, readyConnections: ready.count,
                        activeCalls: ready.reduce(0) { $0 + (connections[$1]?.activeCalls ?? 0) },
                        waitingCalls: state.waiterCount)
    }

    /// Calls `handler` now and whenever the pool goes from no usable connection to some, or back
    /// (health checks follow Milvus through it).
    public func onReadinessChange(_ handler: @escaping @Sendable (Bool) -> Void) {
        readinessHandler = handler
        reportedReadiness = nil
        reportReadiness()
    }

    private func reportReadiness() {
        let ready = !state.readySlots.isEmpty
        guard ready != reportedReadiness else { return }
        reportedReadiness = ready
        readinessHandler?(ready)
    }

    /// Fails waiting calls, stops reconnecting and closes every connection.
    public func shutdown() async {
        isShutDown = true
        execute(state.shutdown())
        for timer in timers.values { timer.cancel() }
        timers.removeAll()
        let open = connections.values
        connections.removeAll()
        published.withLock { $0 = [] }
        for connection in open { await connection.close() }
        // A connect still under way ends before the event loops may go (it closes what it made).
        let unprobed = probing.values
        probing.removeAll()
        for connection in unprobed { await connection.close() }
        let connecting = connectTasks.values
        connectTasks.removeAll()
        for task in connecting { await task.value }
    }

    // MARK: Events

    private func timerFired(_ kind: PoolStateMachine.Timer.Kind) {
        timers[kind] = nil
        execute(state.timerFired(kind))
    }

    /// Arms `timer` (replacing one of its kind): a task that sleeps until its instant.
    private func arm(_ timer: PoolStateMachine.Timer) {
        timers[timer.kind]?.cancel()
        timers[timer.kind] = Task { [weak self] in
            guard let clock = self?.clock, (try? await clock.sleep(until: timer.instant)) != nil, !Task.isCancelled else { return }
            await self?.timerFired(timer.kind)
        }
    }

    private func didConnect(_ slot: PoolStateMachine.SlotID, _ connection: GRPCClientConnection, keepaliveScale scale: Int) async {
        connectTasks[slot] = nil
        probing[slot] = nil
        guard !isShutDown else {
            await connection.close()
            return
        }
        connections[slot] = connection
        connectionKeepaliveScale[slot] = scale
        connection.onClose { [weak self] in
            Task { await self?.didDisconnect(slot, connection) }
        }
        logger.info("connected to Milvus (it answered a first call)", metadata: ["endpoint": "\(configuration.endpoints[slot.endpoint])",
                                                      "slot": "\(slot)"])
        execute(state.connected(slot))
    }

    /// Records a connection about to be probed; false once the pool is shut down.
    private func willProbe(_ slot: PoolStateMachine.SlotID, _ connection: GRPCClientConnection) -> Bool {
        guard !isShutDown else { return false }
        probing[slot] = connection
        return true
    }

    private func didFailToConnect(_ slot: PoolStateMachine.SlotID, _ error: any Error) {
        connectTasks[slot] = nil
        probing[slot] = nil
        guard !isShutDown else { return }
        logger.warning("cannot connect to Milvus", metadata: ["endpoint": "\(configuration.endpoints[slot.endpoint])",
                                                              "slot": "\(slot)", "error": "\(error)"])
        execute(state.connectFailed(slot, now: clock.now))
    }

    private func didDisconnect(_ slot: PoolStateMachine.SlotID, _ connection: GRPCClientConnection) {
        guard connections[slot] === connection else { return }
        connections[slot] = nil
        slowKeepaliveIfAsked(slot, connection)
        logger.info("Milvus connection closed", metadata: ["slot": "\(slot)", "failed": "\(connection.closedByFailure)"])
        execute(state.disconnected(slot, failed: connection.closedByFailure))
    }

    private func probeAnswered(_ slot: PoolStateMachine.SlotID, _ connection: GRPCClientConnection) {
        guard connections[slot] === connection else { return }
        execute(state.probeAnswered(slot))
    }

    /// A connection its server ended for too many PINGs: the endpoint's next ones PING half as often.
    private func slowKeepaliveIfAsked(_ slot: PoolStateMachine.SlotID, _ connection: GRPCClientConnection) {
        let madeWith = connectionKeepaliveScale.removeValue(forKey: slot) ?? 1
        guard connection.wasToldTooManyPings, madeWith * 2 > keepaliveScale[slot.endpoint], madeWith < 64 else { return }
        keepaliveScale[slot.endpoint] = madeWith * 2
        logger.warning("Milvus ended a connection for too many PINGs: its next connections PING less", metadata: [
            "endpoint": "\(configuration.endpoints[slot.endpoint])",
            "keepalive_interval_seconds": "\(keepaliveIntervals[slot.endpoint].components.seconds)",
        ])
    }

    /// Connections that saw GOAWAY or closed are replaced before a call can pick them.
    private func dropUnusableConnections() {
        for slot in state.readySlots {
            guard let connection = connections[slot], !connection.isUsable else { continue }
            connections[slot] = nil
            slowKeepaliveIfAsked(slot, connection)
            execute(state.disconnected(slot, failed: connection.closedByFailure))
            Task { await connection.close() }
        }
    }

    // MARK: Actions

    private func execute(_ actions: [PoolStateMachine.Action]) {
        defer {
            let ready = state.readySlots.compactMap { slot in connections[slot].map { (slot.endpoint, $0) } }
            published.withLock { $0 = ready }
            reportReadiness()
            gauges.ready.record(ready.count)
            gauges.notReady.record(state.allSlots.count - ready.count)
            gauges.waiting.record(state.waiterCount)
        }
        for action in actions {
            switch action {
            case .connect(let slot, _):
                let endpoint = configuration.endpoints[slot.endpoint]
                var client = configuration.client
                client.peerName = "Milvus"
                let scale = keepaliveScale[slot.endpoint]
                client.keepaliveInterval = client.keepaliveInterval * scale
                let probe = configuration.readinessProbe
                let group = self.group
                let logger = self.logger
                connectTasks[slot] = Task { [weak self] in
                    do {
                        let connection = try await GRPCClientConnection.connect(
                            host: endpoint.host, port: endpoint.port, configuration: client, group: group, logger: logger)
                        do {
                            guard await self?.willProbe(slot, connection) == true else { throw CancellationError() }
                            try await probe?.check(connection)
                        } catch {
                            await connection.close()
                            throw error
                        }
                        await self?.didConnect(slot, connection, keepaliveScale: scale)
                    } catch {
                        await self?.didFailToConnect(slot, error)
                    }
                }
            case .schedule(let timer):
                arm(timer)
            case .serve(let waiter, let slot):
                timers.removeValue(forKey: .waiterDeadline(waiter))?.cancel()
                if let connection = connections[slot] {
                    waiters.removeValue(forKey: waiter)?.resume(returning: connection)
                } else {
                    waiters.removeValue(forKey: waiter)?.resume(throwing: PoolFailure.unavailable)
                }
            case .fail(let waiter, let failure):
                timers.removeValue(forKey: .waiterDeadline(waiter))?.cancel()
                waiters.removeValue(forKey: waiter)?.resume(throwing: failure)
            case .probe(let slot):
                guard let connection = connections[slot] else { continue }
                logger.info("another Milvus connection to this endpoint failed: checking this one with a PING",
                            metadata: ["slot": "\(slot)"])
                connection.probe { [weak self] answered in
                    guard answered else { return }  // it closes as failed: `didDisconnect` follows
                    Task { await self?.probeAnswered(slot, connection) }
                }
            }
        }
    }
}

/// The outlier detector behind its lock (a class, so that the pool can hold it optionally).
private final class OutlierState: Sendable {
    let detector: Mutex<OutlierDetector>

    init(_ detector: OutlierDetector) {
        self.detector = Mutex(detector)
    }
}
