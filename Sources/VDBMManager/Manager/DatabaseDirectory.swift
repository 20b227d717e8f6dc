import MilvusClient
import Synchronization
import VDBMDomain
import VDBMUtils

/// Which databases Milvus has, so a call naming one that does not exist is NOT_FOUND before
/// anything else is sent, and a Milvus without databases (Milvus Lite 2.5 ignores the `dbname`
/// header and would act in "default") is FAILED_PRECONDITION. One ListDatabases at a time, its
/// answer shared for `lifetime`: a burst of calls costs Milvus one lookup.
final class DatabaseDirectory: Sendable {
    static let lifetime: Duration = .seconds(5)

    private struct Lookup {
        let task: Task<Result<Set<String>, VectorDBError>, Never>
        let started: ContinuousClock.Instant
    }

    private let lookup = Mutex<Lookup?>(nil)

    /// Checks that `database` exists, listing Milvus's databases with `list` when the last list is
    /// older than `lifetime`.
    func check(_ database: String, now: ContinuousClock.Instant = .now,
               list: @escaping @Sendable () async throws(VectorDBError) -> [String]) async throws(VectorDBError) {
        let task = lookup.withLock { lookup in
            if let current = lookup, current.started.duration(to: now) < Self.lifetime { return current.task }
            let task = Task { () async -> Result<Set<String>, VectorDBError> in
                do throws(VectorDBError) {
                    return .success(Set(try await list()))
                } catch {
                    return .failure(error)
                }
            }
            lookup = Lookup(task: task, started: now)
            return task
        }
        switch await task.value {
        case .success(let names):
            guard names.contains(database) else {
                forget(task)  // a database created since may exist on the next call
                throw .notFound("database '\(database)' does not exist")
            }
        case .failure(let error):
            forget(task)
            if case .failedPrecondition = error {
                throw .failedPrecondition("databases need a Milvus that has them; this server does not list its databases "
                                          + "(Milvus Lite 2.5 has none)")
            }
            throw error
        }
    }

    /// Drops what is known, so the next check asks Milvus (after a database is created or dropped).
    func forgetAll() { lookup.withLock { $0 = nil } }

    private func forget(_ task: Task<Result<Set<String>, VectorDBError>, Never>) {
        lookup.withLock { if $0?.task == task { $0 = nil } }
    }
}
