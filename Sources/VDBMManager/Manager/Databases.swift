import MilvusClient
import VDBMDomain
import VDBMUtils

extension VectorDBManager {
    /// The database Milvus uses when a call names none.
    public static let defaultDatabase = "default"

    /// Runs `body` with every Milvus call inside it acting in `database` (nil or "default": the
    /// default database). A database Milvus does not have is NOT_FOUND, and one on a Milvus without
    /// databases FAILED_PRECONDITION, before `body` runs.
    nonisolated public func inDatabase<Value: Sendable>(_ database: String?, deadline: Deadline,
                                                        _ body: () async throws -> Value) async throws -> Value {
        guard let database, database != Self.defaultDatabase else {
            return try await MilvusCallContext.$database.withValue(nil) { try await body() }
        }
        try SchemaMapping.validateName(database, kind: "database")
        let milvus = self.milvus
        try await databases.check(database) { () throws(VectorDBError) in try await milvus.listDatabases(deadline: deadline) }
        return try await MilvusCallContext.$database.withValue(database) { try await body() }
    }

    /// `body` in `database`, its typed error kept.
    static func inDatabase<Value>(_ database: String?, _ body: () async throws(VectorDBError) -> Value)
        async throws(VectorDBError) -> Value {
        do {
            return try await MilvusCallContext.$database.withValue(database) { try await body() }
        } catch let error as VectorDBError {
            throw error
        } catch {
            throw .internal("\(error)")  // body throws only VectorDBError
        }
    }

    public func listDatabases(deadline: Deadline) async throws(VectorDBError) -> [String] {
        try await milvus.listDatabases(deadline: deadline).sorted()
    }

    public func createDatabase(_ name: String, deadline: Deadline) async throws(VectorDBError) {
        try SchemaMapping.validateName(name, kind: "database")
        // Milvus 2.3.5 answers an existing name with its catch-all code: look first.
        if try await milvus.listDatabases(deadline: deadline).contains(name) {
            throw .alreadyExists("database '\(name)' already exists")
        }
        try await milvus.createDatabase(name, deadline: deadline)
        databases.forgetAll()
    }

    public func dropDatabase(_ name: String, deadline: Deadline) async throws(VectorDBError) {
        try SchemaMapping.validateName(name, kind: "database")
        guard name != Self.defaultDatabase else { throw .invalidArgument("the default database cannot be dropped") }
        guard try await milvus.listDatabases(deadline: deadline).contains(name) else {
            throw .notFound("database '\(name)' does not exist")
        }
        try await milvus.dropDatabase(name, deadline: deadline)
        databases.forgetAll()
    }
}
