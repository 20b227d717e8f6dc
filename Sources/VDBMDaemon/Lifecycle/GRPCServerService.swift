import GRPCNGHTTP2
import Logging
import ServiceLifecycle
import VDBMService

/// Runs the gRPC server as a lifecycle service: binds, serves until graceful shutdown is asked
/// for (SIGTERM/SIGINT), then reports NOT_SERVING, drains the connections and returns.
struct GRPCServerService: Service {
    let server: GRPCServer
    let health: HealthStatusRegistry
    let grace: Duration
    let logger: Logger
    /// Runs after the server has drained (closes the Milvus pool).
    var onStopped: @Sendable () async -> Void = {}

    func run() async throws {
        do {
            try await server.start()
        } catch {
            // A listener that cannot start (its port taken) still stops what was started for it:
            // the pool's connections must be closed before the event loops go.
            await onStopped()
            throw error
        }
        logger.notice("vdbm is serving")
        // Returns when graceful shutdown starts; throws only if the task is cancelled.
        try? await gracefulShutdown()
        health.enterShutdown()
        await server.shutdown(grace: grace)
        await onStopped()
        logger.notice("vdbm stopped")
    }
}
