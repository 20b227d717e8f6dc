import Logging
import Metrics
import ServiceLifecycle
import UnixSignals

/// Re-reads the configuration on SIGHUP and applies what can change at run time (see
/// ``ConfigurationReload``) without touching a connection: a file that does not load keeps the
/// old settings and logs why; a changed key that needs a restart is named in the log.
struct ConfigurationReloader: Service {
    /// Loads the configuration again from the same file, environment and flags.
    let load: @Sendable () throws -> VDBMConfiguration
    /// Applies the run-time settings of a configuration.
    let apply: @Sendable (VDBMConfiguration) -> Void
    let initial: VDBMConfiguration
    let logger: Logger

    func run() async throws {
        var current = initial
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            current = reload(current)
        }
    }

    /// One reload; returns the configuration now in force.
    func reload(_ current: VDBMConfiguration) -> VDBMConfiguration {
        let next: VDBMConfiguration
        do {
            next = try load()
        } catch {
            Counter(label: "vdbm_config_reloads_total", dimensions: [("outcome", "failed")]).increment()
            logger.error("configuration reload failed: keeping the settings in force", metadata: ["reason": "\(error)"])
            return current
        }
        let (applied, needRestart) = ConfigurationReload.changes(from: current, to: next)
        if !needRestart.isEmpty {
            logger.warning("configuration reload: these keys changed but take effect only after a restart",
                           metadata: ["keys": .array(needRestart.map { .string($0) })])
        }
        apply(next)
        Counter(label: "vdbm_config_reloads_total", dimensions: [("outcome", "applied")]).increment()
        logger.notice("configuration reloaded", metadata: ["changed": .array(applied.map { .string($0) })])
        // The run-time keys are now `next`'s; the others stay as they were at start.
        var inForce = current
        inForce.settings = current.settings.filter { !ConfigurationReload.isReloadable($0.key) }
            .merging(next.settings.filter { ConfigurationReload.isReloadable($0.key) }) { $1 }
        return inForce
    }
}
