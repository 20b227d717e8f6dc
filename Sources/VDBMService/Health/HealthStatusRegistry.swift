import Synchronization
import VDBMProtobuf

/// The serving status of the server ("") and of each service, read by health checks and set by
/// whoever knows (startup, shutdown, and later the Milvus connection state). The lock guards
/// only the dictionary.
public final class HealthStatusRegistry: Sendable {
    private let statuses = Mutex<[String: HealthCheckResponse.ServingStatus]>([:])

    public init() {}

    public func set(_ status: HealthCheckResponse.ServingStatus, for service: String) {
        statuses.withLock { $0[service] = status }
    }

    /// Sets every known service (and the server) to `status`, e.g. `notServing` during shutdown.
    public func setAll(_ status: HealthCheckResponse.ServingStatus) {
        statuses.withLock { table in
            for key in table.keys { table[key] = status }
        }
    }

    /// The status of `service`, or `nil` when the service is not known.
    public func status(of service: String) -> HealthCheckResponse.ServingStatus? {
        statuses.withLock { $0[service] }
    }
}
