import Logging
import MilvusClient
import Testing
import VDBMDomain
import VDBMProtobuf
import VDBMUtils
@testable import VDBMManager

/// Calls in a named database: Milvus sees it on every call inside, unknown ones are refused first.
@Suite struct DatabaseTests {
    private let deadline = Deadline.after(.seconds(10))

    private func manager(databases: [String] = ["default", "tenants"]) -> (MockMilvus, VectorDBManager) {
        let milvus = MockMilvus()
        milvus.state.withLock {
            $0.databases = databases
            $0.collections["docs"] = MilvusCollectionSchema(name: "docs", fields: [
                MilvusFieldSchema(name: "id", isPrimaryKey: true, dataType: 5),
                MilvusFieldSchema(name: "v", dataType: 101, typeParams: [MilvusKeyValue("dim", "2")])])
        }
        return (milvus, VectorDBManager(milvus: milvus, logger: Logger(label: "test")))
    }

    @Test func everyMilvusCallInsideActsInTheDatabase() async throws {
        let (milvus, manager) = manager()
        _ = try await manager.inDatabase("tenants", deadline: deadline) {
            try await manager.search(SearchRequest(collection: "docs", vectors: [1, 2]), deadline: deadline)
        }
        let calls = milvus.state.withLock { Array(zip($0.calls, $0.callDatabases)) }
        #expect(calls.map(\.0) == ["listDatabases", "describeCollection", "search"])
        #expect(calls.dropFirst().allSatisfy { $0.1 == "tenants" })
        _ = try await manager.inDatabase("default", deadline: deadline) {
            try await manager.hasCollection("docs", deadline: deadline)
        }
        #expect(milvus.state.withLock { $0.callDatabases.last } == .some(nil))
    }

    @Test func theSchemaCacheKeepsDatabasesApart() async throws {
        let (milvus, manager) = manager()
        for database in ["tenants", nil, "tenants"] {
            _ = try await manager.inDatabase(database, deadline: deadline) {
                try await manager.search(SearchRequest(collection: "docs", vectors: [1, 2]), deadline: deadline)
            }
        }
        // Described once per database; the list of databases asked once (shared for 5 s).
        #expect(milvus.state.withLock { $0.calls }.filter { $0 == "describeCollection" }.count == 2)
        #expect(milvus.state.withLock { $0.calls }.filter { $0 == "listDatabases" }.count == 1)
    }

    @Test func anUnknownDatabaseIsNotFoundAndAMilvusWithoutThemIsFailedPrecondition() async {
        let (milvus, manager) = manager()
        await #expect(throws: VectorDBError.notFound("database 'nope' does not exist")) {
            try await manager.inDatabase("nope", deadline: deadline) { () async throws -> Int in 1 }
        }
        await #expect(throws: VectorDBError.invalidArgument("database name 'a-b' must start with a letter or _ and hold only letters, digits and _ (at most 255)")) {
            try await manager.inDatabase("a-b", deadline: deadline) { () async throws -> Int in 1 }
        }
        #expect(milvus.state.withLock { $0.calls } == ["listDatabases"])  // the bad name never reached Milvus
        let (lite, liteManager) = self.manager()
        lite.state.withLock { $0.failures["listDatabases"] = [.failedPrecondition("the Milvus server does not implement this call")] }
        await #expect(throws: VectorDBError.failedPrecondition(
            "databases need a Milvus that has them; this server does not list its databases (Milvus Lite 2.5 has none)")) {
            try await liteManager.inDatabase("tenants", deadline: deadline) { () async throws -> Int in 1 }
        }
    }

    @Test func databasesAreCreatedListedAndDropped() async throws {
        let (milvus, manager) = manager()
        try await manager.createDatabase("archive", deadline: deadline)
        #expect(try await manager.listDatabases(deadline: deadline) == ["archive", "default", "tenants"])
        _ = try await manager.inDatabase("archive", deadline: deadline) { () async throws -> Int in 1 }
        await #expect(throws: VectorDBError.alreadyExists("database 'archive' already exists")) {
            try await manager.createDatabase("archive", deadline: deadline)
        }
        try await manager.dropDatabase("archive", deadline: deadline)
        await #expect(throws: VectorDBError.notFound("database 'archive' does not exist")) {
            try await manager.dropDatabase("archive", deadline: deadline)
        }
        // The directory forgot the dropped database at once.
        await #expect(throws: VectorDBError.notFound("database 'archive' does not exist")) {
            try await manager.inDatabase("archive", deadline: deadline) { () async throws -> Int in 1 }
        }
        await #expect(throws: VectorDBError.invalidArgument("the default database cannot be dropped")) {
            try await manager.dropDatabase("default", deadline: deadline)
        }
        #expect(milvus.state.withLock { $0.calls }.filter { $0 == "createDatabase" || $0 == "dropDatabase" }.count == 2)
    }

    @Test func searchesInTwoDatabasesNeverShareABatch() {
        let request = SearchRequest(collection: "docs", vectors: [1, 2])
        let schema = CollectionSchemaInfo(name: "docs", fields: [])
        let key = { (database: String?) in SearchBatchKey(request, database: database, vectorField: "v", dimension: 2, schema: schema) }
        #expect(key("tenants") != key(nil) && key("tenants") != key("other") && key("tenants") == key("tenants"))
    }
}
