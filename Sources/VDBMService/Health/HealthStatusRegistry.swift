import Synchronization
import VDBMProtobuf

/// The serving status of the server ("") and of each service, read by health checks, watched by
/// `Health/Watch` and set by whoever knows (startup, shutdown, the Milvus connection state). The
/// lock guards only the table; no I/O happens under it.
public final class HealthStatusRegistry: Sendable {
    public typealias ServingStatus = HealthCheckResponse.ServingStatus

    private struct Watcher {
        let service: String
        let continuation: AsyncStream<ServingStatus>.Continuation
    }

    private struct Table {
        var statuses: [String: ServingStatus] = [:]
        /// Once shutdown starts, nothing turns back to SERVING.
        var shuttingDown = false
        var watchers: [UInt64: Watcher] = [:]
        var nextWatcher: UInt64 = 0
    }

    private let table = Mutex(Table())

    public init() {}

    public func set(_ status: ServingStatus, for service: String) {
        table.withLock { table in
            let new = table.shuttingDown ? ServingStatus.notServing : status
            guard table.statuses.updateValue(new, forKey: service) != new else { return }
            for watcher in table.watchers.values where watcher.service == service { watcher.continuation.yield(new) }
        }
    }

    /// SERVING or NOT_SERVING for `services` as Milvus becomes reachable or unreachable.
    public func setMilvusReachable(_ reachable: Bool, services: [String]) {
        for service in services { set(reachable ? .serving : .notServing, for: service) }
    }

    /// Every known service (and the server) NOT_SERVING from now on; watches get that, then end.
    public func enterShutdown() {
        let watchers = table.withLock { table in
            table.shuttingDown = true
            for key in table.statuses.keys { table.statuses[key] = .notServing }
            defer { table.watchers.removeAll() }
            return Array(table.watchers.values)
        }
        // Outside the lock: finishing a stream runs its termination handler, which takes it.
        for watcher in watchers {
            watcher.continuation.yield(.notServing)
            watcher.continuation.finish()
        }
    }

    /// The status of `service`, or `nil` when the service is not known.
    public func status(of service: String) -> ServingStatus? {
        table.withLock { $0.statuses[service] }
    }

    /// The status of `service` now (SERVICE_UNKNOWN for an unknown one), then each change, as
    /// the health-checking protocol's `Watch` asks. A watcher that falls behind sees the latest
    /// statuses, not every flap. Ends at shutdown, after NOT_SERVING.
    public func watch(_ service: String) -> AsyncStream<ServingStatus> {
        let (stream, continuation) = AsyncStream.makeStream(of: ServingStatus.self, bufferingPolicy: .bufferingNewest(4))
        let id: UInt64? = table.withLock { table in
            guard !table.shuttingDown else { return nil }
            continuation.yield(table.statuses[service] ?? .serviceUnknown)
            let id = table.nextWatcher
            table.nextWatcher += 1
            table.watchers[id] = Watcher(service: service, continuation: continuation)
            return id
        }
        guard let id else {
            continuation.yield(.notServing)
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.table.withLock { $0.watchers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Watches open now (for tests and metrics).
    public var watcherCount: Int { table.withLock { $0.watchers.count } }
}
