import MilvusClient
import Synchronization
import VDBMDomain

/// What a read tells its caller when Milvus refused it as "not loaded". Milvus 2.3.5 says so for
/// a collection nobody loaded, and also for tens of seconds after a restart, while it loads the
/// collections it had loaded before by itself (GetLoadState says Loading then, measured). The first
/// is the caller's to fix (FAILED_PRECONDITION); the second passes by itself (UNAVAILABLE, which
/// clients retry). The load state tells them apart: one lookup per collection at a time, its
/// answer shared for `lifetime`, so a burst of refused reads costs Milvus one lookup, not one each.
final class LoadStateProbes: Sendable {
    /// A collection's load state, with its progress in percent while loading.
    struct Reading: Sendable, Hashable {
        var state: LoadState
        var progress: Int64?
    }

    /// How long one lookup's answer serves the refused reads that follow it.
    static let lifetime: Duration = .seconds(1)

    private struct Probe {
        let task: Task<Reading?, Never>
        let started: ContinuousClock.Instant
    }

    private let probes = Mutex<[String: Probe]>([:])

    /// The collection's load state: from a lookup started less than `lifetime` ago, or from `read`
    /// (nil when Milvus could not say).
    func reading(of collection: String, now: ContinuousClock.Instant = .now,
                 read: @escaping @Sendable () async -> Reading?) async -> Reading? {
        let key = MilvusCallContext.qualified(collection)  // the same name in two databases is two collections
        let task = probes.withLock { probes in
            if let probe = probes[key], probe.started.duration(to: now) < Self.lifetime { return probe.task }
            probes = probes.filter { $0.value.started.duration(to: now) < Self.lifetime }
            let task = Task { await read() }  // inherits the call's database
            probes[key] = Probe(task: task, started: now)
            return task
        }
        return await task.value
    }

    /// The error for a read Milvus refused with `refusal` (a `.notLoaded` message), given what the
    /// load state says; Milvus's own verdict stands when the load state could not be read.
    static func error(collection: String, refusal: String, reading: Reading?) -> VectorDBError {
        guard let reading, reading.state == .loading else { return .failedPrecondition(refusal) }
        let percent = reading.progress.map { " (\(min(max($0, 0), 100))%)" } ?? ""
        return .unavailable("Milvus is loading collection '\(collection)'\(percent); retry shortly")
    }
}
