import MilvusClient
import VDBMDomain
import VDBMUtils

/// What the manager checks before and after a read: the features of the connected Milvus, and why
/// a collection is not loaded.
extension VectorDBManager {
    // MARK: Capabilities

    /// Refuses a request that needs `feature` when the connected Milvus is older than its first
    /// release, before anything is sent; the message names `subject` (the feature by default).
    nonisolated func require(_ feature: MilvusFeature, subject: String? = nil,
                                     deadline: Deadline) async throws(VectorDBError) {
        let milvus = self.milvus
        let text = await versions.version { try? await milvus.version(deadline: deadline) }
        guard let text, !MilvusFeature.available(version: text).contains(feature) else { return }
        throw .failedPrecondition("\(subject ?? feature.title) needs Milvus \(feature.since.major).\(feature.since.minor) "
                                  + "or newer; the server is \(text)")
    }

    // MARK: Load state

    /// Runs a read; when Milvus refuses it as not loaded, the load state decides what the caller
    /// hears: UNAVAILABLE while Milvus loads the collection (by itself, after a restart), else
    /// FAILED_PRECONDITION "load it first".
    nonisolated func explainingNotLoaded<Value>(
        _ collection: String, deadline: Deadline, _ read: () async throws(VectorDBError) -> Value
    ) async throws(VectorDBError) -> Value {
        do {
            return try await read()
        } catch {
            guard case .notLoaded(let refusal) = error else { throw error }
            let milvus = self.milvus
            // A short lookup: the caller's deadline, or two seconds when that is longer.
            let probeDeadline = min(deadline, Deadline.after(.seconds(2)))
            let reading = await loadProbes.reading(of: collection) { () async -> LoadStateProbes.Reading? in
                guard let state = try? await milvus.loadState(collection, deadline: probeDeadline) else { return nil }
                let loadState = LoadState(milvus: state)
                guard loadState == .loading else { return LoadStateProbes.Reading(state: loadState) }
                let progress = try? await milvus.loadingProgress(collection, deadline: probeDeadline)
                return LoadStateProbes.Reading(state: loadState, progress: progress)
            }
            throw LoadStateProbes.error(collection: collection, refusal: refusal, reading: reading)
        }
    }
}
