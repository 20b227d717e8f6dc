import MilvusClient
import Testing

@Suite struct PoolStateMachineTests {
    typealias Slot = PoolStateMachine.SlotID

    private func slot(_ endpoint: Int, _ index: Int) -> Slot { Slot(endpoint: endpoint, index: index) }

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
        guard case .wait(let first) = pool.lease(), case .wait(let second) = pool.lease() else {
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
        guard case .wait(let waiter) = pool.lease() else { Issue.record("expected to wait"); return }
        #expect(pool.waiterExpired(waiter) == [.fail(waiter, .deadlineExceeded)])
        #expect(pool.waiterExpired(waiter) == [])
        #expect(pool.connected(slot(0, 0)) == [])
    }

    @Test func failedConnectsBackOffWithGrowingAttempts() {
        var (pool, _) = started(perEndpoint: 1)
        #expect(pool.connectFailed(slot(0, 0)) == [.scheduleReconnect(slot(0, 0), attempt: 1)])
        #expect(pool.backoffElapsed(slot(0, 0)) == [.connect(slot(0, 0), attempt: 1)])
        #expect(pool.connectFailed(slot(0, 0)) == [.scheduleReconnect(slot(0, 0), attempt: 2)])
        _ = pool.backoffElapsed(slot(0, 0))
        _ = pool.connected(slot(0, 0))
        // After a success the count starts again.
        #expect(pool.disconnected(slot(0, 0)) == [.connect(slot(0, 0), attempt: 0)])
    }

    @Test func whenNothingCanConnectWaitersFailUnavailableAndNewCallsFailAtOnce() {
        var (pool, _) = started(perEndpoint: 2)
        guard case .wait(let waiter) = pool.lease() else { Issue.record("expected to wait"); return }
        #expect(pool.connectFailed(slot(0, 0)) == [.scheduleReconnect(slot(0, 0), attempt: 1)])
        #expect(pool.connectFailed(slot(0, 1)) == [.scheduleReconnect(slot(0, 1), attempt: 1), .fail(waiter, .unavailable)])
        #expect(pool.lease() == .fail(.unavailable))
    }

    @Test func anUnreachableEndpointIsSkippedWhileAnotherServes() {
        var (pool, _) = started(endpoints: 2, perEndpoint: 1)
        _ = pool.connectFailed(slot(0, 0))
        _ = pool.connected(slot(1, 0))
        #expect(pool.lease() == .use([slot(1, 0)]))
        _ = pool.backoffElapsed(slot(0, 0))
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
        #expect(pool.connectFailed(slot(0, 0)) == [.scheduleReconnect(slot(0, 0), attempt: 2)])
        #expect(pool.backoffElapsed(slot(0, 0)) == [.connect(slot(0, 0), attempt: 2)])
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
        guard case .wait(let waiter) = pool.lease() else { Issue.record("expected to wait"); return }
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
