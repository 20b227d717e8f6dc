import Synchronization
import VDBMProtobuf

/// The serving status of the server ("") and of each service, read by health checks and set by
/// whoever knows (startup, shutdown, the Milvus connection state). The lock guards only the
/// table; no I/O happens under it.
public final class HealthStatusRegistry: Sendable {
    private struct Table {
        var statuses: [String: HealthCheckResponse.ServingStatus] = [:]
        /// Once shutdown starts, nothing turns back to SERVING.
        var shuttingDown = false
    }

    private let table = Mutex(Table())

    public init() {}

    public func set(_ status: HealthCheckResponse.ServingStatus, for service: String) {
        table.withLock { table in
            table.statuses[service] = table.shuttingDown ? .notServing : status
        }
    }

    /// SERVING or NOT_SERVING for `services` as Milvus becomes reachable or unreachable.
    public func setMilvusReachable(_ reachable: Bool, services: [String]) {
        for service in services { set(reachable ? .serving : .notServing, for: service) }
    }

    /// Every known service (and the server) NOT_SERVING from now on.
    public func enterShutdown() {
        table.withLock { table in
            table.shuttingDown = true
            for key in table.statuses.keys { table.statuses[key] = .notServing }
        }
    }

    /// The status of `service`, or `nil` when the service is not known.
    public func status(of service: String) -> HealthCheckResponse.ServingStatus? {
        table.withLock { $0.statuses[service] }
    }
}
