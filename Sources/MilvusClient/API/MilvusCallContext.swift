/// What a Milvus call carries besides its request: the database it acts in. Milvus takes the
/// database as call metadata (`dbname`, as pymilvus sends it) on every method, so vdbm binds it
/// once around a call's work and `MilvusClient` adds the header to every Milvus call made inside.
public enum MilvusCallContext {
    /// nil: Milvus's "default" database (no header is sent).
    @TaskLocal public static var database: String?

    /// `name` qualified by the current database, for caches keyed by collection ("db.name";
    /// neither may contain a dot).
    public static func qualified(_ name: String) -> String {
        database.map { "\($0).\(name)" } ?? name
    }
}
