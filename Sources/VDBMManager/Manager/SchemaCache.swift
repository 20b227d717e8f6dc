import Synchronization
import VDBMDomain

/// Collection schemas by name, shared by every call. The lock is held only to read or replace
/// an entry; describing a collection happens outside it.
final class SchemaCache: Sendable {
    private let entries = Mutex<[String: CollectionSchemaInfo]>([:])

    subscript(name: String) -> CollectionSchemaInfo? {
        get { entries.withLock { $0[name] } }
        set { entries.withLock { $0[name] = newValue } }
    }
}
