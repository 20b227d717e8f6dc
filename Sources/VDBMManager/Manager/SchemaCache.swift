import MilvusClient
import Synchronization
import VDBMDomain

/// Collection schemas by name in the call's database, shared by every call. The lock is held
/// only to read or replace an entry; describing a collection happens outside it.
final class SchemaCache: Sendable {
    private let entries = Mutex<[String: CollectionSchemaInfo]>([:])

    subscript(name: String) -> CollectionSchemaInfo? {
        get { entries.withLock { $0[MilvusCallContext.qualified(name)] } }
        set { entries.withLock { $0[MilvusCallContext.qualified(name)] = newValue } }
    }
}
