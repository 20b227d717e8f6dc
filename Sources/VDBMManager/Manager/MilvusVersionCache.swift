import Synchronization

/// The connected Milvus's version (`GetVersion`), asked at most once per `lifetime`: a request
/// that needs a feature newer than the server is refused before anything is sent. A server that
/// does not say (Milvus Lite 2.5 answers UNIMPLEMENTED) or says something that is not a version
/// (`milvus_lite-3.2.2`) is not refused: Milvus then decides itself.
final class MilvusVersionCache: Sendable {
    static let lifetime: Duration = .seconds(60)

    private struct Entry {
        let version: String?
        let asked: ContinuousClock.Instant
    }

    private let entry = Mutex<Entry?>(nil)

    /// The version text, from the last answer if it is fresh, else from `read` (nil: no answer).
    func version(now: ContinuousClock.Instant = .now, read: () async -> String?) async -> String? {
        if let cached = entry.withLock({ $0 }), cached.asked.duration(to: now) < Self.lifetime { return cached.version }
        let version = await read()
        entry.withLock { $0 = Entry(version: version, asked: now) }
        return version
    }
}
