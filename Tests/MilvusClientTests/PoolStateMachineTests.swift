import MilvusClient
import Testing

@Suite struct PoolStateMachineTests {
    typealias Slot = PoolStateMachine.SlotID

    private func slot(_ endpoint: Int, _ index: Int) -> Slot { Slot(endpoint: endpoint, index: index) }
    private let t0 = ContinuousClock.now

    /// How long after `now` the reconnect timer of `slot` among `actions` goes off (nil: none armed).
    private func reconnectDelay(_ actions: [PoolStateMachine.Action], _ slot: Slot,
                                after now: ContinuousClock.Instant) -> Duration? {
        actions.lazy.compactMap { action -> Duration? in
            guard case .schedule(let timer) = action, timer.kind == .reconnect(slot) else { return nil }
            return now.duration(to: timer.instant)
        }.first
    }

    private func started(endpoints: Int = 1, perEndpoint: Int = 2, maxWaiters: Int = 3) -> (PoolStateMachine, [PoolStateMachine.Action]) {
        var pool = PoolStateMachine(endpointCount: endpoints, connectionsPerEndpoint: perEndpoint, maxWaiters: maxWaiters)
        let actions = pool.start()
        return (pool, actions)
    }

    @Test func startConnectsEverySlotOfEveryEndpoint() {
        let (_, actions) = started(endpoints: 2, perEndpoint: 2)
        #expect(actions == [.connect(slot(0, 0), attempt: 0), .connect(slot(0, 1), attempt: 0),
                            .connect(slot(1, 0), attempt: 0), .connect(slot(1, 1), attempt: 0)])
    }

    @Test func callsWaitUntilASlotIsReadyAndAreThenServed() {
        var (pool, _) = started()
        guard case .wait(let first, _) = pool.lease(), case .wait(let second, _) = pool.lease() else {
            Issue.record("expected to wait"); return
        }
        #expect(pool.connected(slot(0, 1)) == [.serve(first, slot(0, 1)), .serve(second, slot(0, 1))])
        #expect(pool.lease() == .use([slot(0, 1)]))
        #expect(pool.waiterCount == 0)
    }

    @Test func aFullWaitQueueIsRefused() {
        var (pool, _) = started(maxWaiters: 2)
        _ = pool.lease()
        _ = pool.lease()
        #expect(pool.lease() == .fail(.queueFull))
    }

    @Test func aWaiterWhoseDeadlinePassesFailsAndLeavesTheQueue() {
        var (pool, _) = started()
        let deadline = t0 + .seconds(2)
        guard case .wait(let waiter, let timer) = pool.lease(deadline: deadline) else { Issue.record("expected to wait"); return }
        #expect(timer == PoolStateMachine.Timer(.waiterDeadline(waiter), at: deadline))
        #expect(pool.timerFired(.waiterDeadline(waiter)) == [.fail(waiter, .deadlineExceeded)])
        #expect(pool.timerFired(.waiterDeadline(waiter)) == [])
        #expect(pool.connected(slot(0, 0)) == [])
        // Without a deadline, no timer.
        var other = started().0
        guard case .wait(_, nil) = other.lease() else { Issue.record("expected to wait without a timer"); return }
    }

    @Test func failedConnectsBackOffWithGrowingAttempts() {
        var (pool, _) = started(perEndpoint: 1)
        let first = reconnectDelay(pool.connectFailed(slot(0, 0), now: t0), slot(0, 0), after: t0)
        #expect(first.map { $0 >= .zero && $0 <= .milliseconds(100) } == true)
        #expect(pool.timerFired(.reconnect(slot(0, 0))) == [.connect(slot(0, 0), attempt: 1)])
        let second = reconnectDelay(pool.connectFailed(slot(0, 0), now: t0), slot(0, 0), after: t0)
        #expect(second.map { $0 >= .zero && $0 <= .milliseconds(200) } == true)
        _ = pool.timerFired(.reconnect(slot(0, 0)))
        _ = pool.connected(slot(0, 0))
        // After a success the count starts again; a stale timer does nothing.
        #expect(pool.disconnected(slot(0, 0)) == [.connect(slot(0, 0), attempt: 0)])
        #expect(pool.timerFired(.reconnect(slot(0, 0))) == [])
    }

    /// One formula (`JitteredBackoff`'s, full jitter, doubling up to the maximum), drawn from the
    /// seeded generator: the same seed gives the same delays, and no delay passes its ceiling.
    @Test func reconnectDelaysFollowTheJitteredBackoffFormula() {
        func delays(seed: UInt64) -> [Duration] {
            var pool = PoolStateMachine(endpointCount: 1, connectionsPerEndpoint: 1, maxWaiters: 1,
                                        reconnectInitialBackoff: .milliseconds(100), reconnectMaxBackoff: .seconds(1), seed: seed)
            _ = pool.start()
            return (1...8).map { _ in
                let delay = reconnectDelay(pool.connectFailed(slot(0, 0), now: t0), slot(0, 0), after: t0)!
                _ = pool.timerFired(.reconnect(slot(0, 0)))
                return delay
            }
        }
        let run = delays(seed: 42)
        #expect(run == delays(seed: 42))
        #expect(run != delays(seed: 43))
        let ceilings: [Duration] = [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800),
                                    .seconds(1), .seconds(1), .seconds(1), .seconds(1)]
        for (delay, ceiling) in zip(run, ceilings) { #expect(delay >= .zero && delay <= ceiling) }
    }

    @Test func whenNothingCanConnectWaitersFailUnavailableAndNewCallsFailAtOnce() {
        var (pool, _) = started(perEndpoint: 2)
        guard case .wait(let waiter, _) = pool.lease() else { Issue.record("expected to wait"); return }
        let first = pool.connectFailed(slot(0, 0), now: t0)
        #expect(first.count == 1 && reconnectDelay(first, slot(0, 0), after: t0) != nil)
        let second = pool.connectFailed(slot(0, 1), now: t0)
        #expect(second.count == 2 && reconnectDelay(second, slot(0, 1), after: t0) != nil)
        #expect(second.last == .fail(waiter, .unavailable))
        #expect(pool.lease() == .fail(.unavailable))
    }

    @Test func anUnreachableEndpointIsSkippedWhileAnotherServes() {
        var (pool, _) = started(endpoints: 2, perEndpoint: 1)
        _ = pool.connectFailed(slot(0, 0))
        _ = pool.connected(slot(1, 0))
        #expect(pool.lease() == .use([slot(1, 0)]))
        _ = pool.timerFired(.reconnect(slot(0, 0)))
        _ = pool.connected(slot(0, 0))
        #expect(pool.lease() == .use([slot(0, 0), slot(1, 0)]))
    }

    @Test func aLostConnectionIsReplacedAndItsSlotLeavesTheReadySet() {
        var (pool, _) = started(perEndpoint: 2)
        _ = pool.connected(slot(0, 0))
        _ = pool.connected(slot(0, 1))
        #expect(pool.disconnected(slot(0, 0)) == [.connect(slot(0, 0), attempt: 0)])
        #expect(pool.lease() == .use([slot(0, 1)]))
        #expect(pool.disconnected(slot(0, 0)) == [])  // already reconnecting
    }

    /// A connection that died of a failure (a PING unanswered: Milvus frozen) is replaced, but
    /// calls do not wait for the replacement: a connect to a frozen Milvus hangs until its
    /// timeout. They fail at once until a slot is ready again.
    @Test func afterAFailedConnectionCallsFailAtOnceUntilASlotIsReady() {
        var (pool, _) = started(perEndpoint: 2)
        _ = pool.connected(slot(0, 0))
        _ = pool.connected(slot(0, 1))
        // Its sibling on the same endpoint is suspect until it answers a PING.
        #expect(pool.disconnected(slot(0, 0), failed: true) == [.connect(slot(0, 0), attempt: 1), .probe(slot(0, 1))])
        #expect(pool.lease() == .fail(.unavailable))
        #expect(pool.probeAnswered(slot(0, 1)) == [])
        #expect(pool.lease() == .use([slot(0, 1)]))
        #expect(pool.disconnected(slot(0, 1), failed: true) == [.connect(slot(0, 1), attempt: 1)])
        #expect(pool.lease() == .fail(.unavailable))
        // The same after the backoff: reconnecting after a failure holds no call.
        #expect(reconnectDelay(pool.connectFailed(slot(0, 0), now: t0), slot(0, 0), after: t0) != nil)
        #expect(pool.timerFired(.reconnect(slot(0, 0))) == [.connect(slot(0, 0), attempt: 2)])
        #expect(pool.lease() == .fail(.unavailable))
        _ = pool.connected(slot(0, 1))
        #expect(pool.lease() == .use([slot(0, 1)]))
    }

    @Test func aSuspectConnectionThatFailsIsReplacedAndOtherEndpointsAreNotSuspect() {
        var (pool, _) = started(endpoints: 2, perEndpoint: 2)
        for endpoint in 0..<2 { for index in 0..<2 { _ = pool.connected(slot(endpoint, index)) } }
        #expect(pool.disconnected(slot(0, 1), failed: true) == [.connect(slot(0, 1), attempt: 1), .probe(slot(0, 0))])
        #expect(pool.lease() == .use([slot(1, 0), slot(1, 1)]))
        #expect(pool.disconnected(slot(0, 0), failed: true) == [.connect(slot(0, 0), attempt: 1)])
        #expect(pool.probeAnswered(slot(0, 0)) == [])  // too late: it is reconnecting
        // A clean close suspects nobody.
        #expect(pool.disconnected(slot(1, 0)) == [.connect(slot(1, 0), attempt: 0)])
        #expect(pool.lease() == .use([slot(1, 1)]))
    }

    @Test func shutdownFailsWaitersAndStopsReconnecting() {
        var (pool, _) = started()
        guard case .wait(let waiter, _) = pool.lease() else { Issue.record("expected to wait"); return }
        #expect(pool.shutdown() == [.fail(waiter, .shuttingDown)])
        #expect(pool.connectFailed(slot(0, 0)) == [])
        #expect(pool.lease() == .fail(.shuttingDown))
    }

    @Test func leastLoadedPicksTheSmallestLoadAndTheFirstOnTies() {
        let loads = [slot(0, 0): 3, slot(0, 1): 1, slot(1, 0): 1]
        #expect(PoolStateMachine.leastLoaded([slot(0, 0), slot(0, 1), slot(1, 0)]) { loads[$0]! } == slot(0, 1))
        #expect(PoolStateMachine.leastLoaded([]) { _ in 0 } == nil)
    }
}
