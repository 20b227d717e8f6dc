/// What a reload (SIGHUP) may change while vdbm runs, and what needs a restart.
public enum ConfigurationReload {
    /// Keys that take effect at run time: the API keys (and whether auth is on), the log level,
    /// the access log, the request limits and the listener's TLS files (read again on every
    /// reload; turning TLS on or off needs a restart). Listeners, endpoints, the pool, timeouts
    /// and the coalescer are built once at start.
    public static func isReloadable(_ key: String) -> Bool {
        key.hasPrefix("auth.") || key.hasPrefix("limits.") || key == "logging.level" || key == "logging.access_log"
            || key.hasPrefix("server.tls.")
    }

    /// The keys whose value differs between `old` and `new`, split into those a reload applies and
    /// those that need a restart (both sorted).
    public static func changes(from old: VDBMConfiguration, to new: VDBMConfiguration)
        -> (applied: [String], needRestart: [String]) {
        let changed = Set(old.settings.keys).union(new.settings.keys).filter { old.settings[$0] != new.settings[$0] }.sorted()
        return (changed.filter(isReloadable), changed.filter { !isReloadable($0) })
    }
}
