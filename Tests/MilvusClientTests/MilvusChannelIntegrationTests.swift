import Foundation
import GRPCNGHTTP2
import Logging
import MilvusClient
import NIOPosix
import Testing
import VDBMDomain
import VDBMProtobuf
import VDBMUtils

/// The Milvus channel and the protobuf-c Milvus messages against a real Milvus (2.3.5 embedded,
/// started by scripts/test, which sets MILVUS_ADDRESS=host:port). Results are checked for content.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["MILVUS_ADDRESS"] != nil, "needs MILVUS_ADDRESS"),
       .serialized)
struct MilvusChannelIntegrationTests {
    private static let dim = 8

    private func channel() async throws -> MilvusChannel {
        let address = ProcessInfo.processInfo.environment["MILVUS_ADDRESS"]!.split(separator: ":")
        let connection = try await GRPCClientConnection.connect(
            host: String(address[0]), port: Int(address[1])!, group: MultiThreadedEventLoopGroup.singleton,
            logger: Logger(label: "test"))
        // scripts/test runs Milvus with authorization on and passes the credentials.
        let environment = ProcessInfo.processInfo.environment
        let credentials = environment["MILVUS_USER"].map { MilvusCredentials.password(user: $0, password: environment["MILVUS_PASSWORD"] ?? "") }
        return MilvusChannel(connection: connection, credentials: credentials)
    }

    private func deadline() -> Deadline { .after(.seconds(60)) }

    /// Row `id`'s vector: distinct for every id, so each one is its own nearest neighbour.
    private static func vector(_ id: Int) -> [Float] {
        (0..<dim).map { Float(sin(Double(id) * 0.37 + Double($0) * 1.3)) }
    }

    @Test func versionAndHealthAnswer() async throws {
        let milvus = try await channel()
        let version = try MilvusResponse.Version(serializedBytes: try await milvus.call("GetVersion", MilvusRequest.getVersion(),
                                                                                        deadline: deadline()))
        #expect(version.status.isSuccess)
        #expect(version.version.hasPrefix("v2.") || version.version.hasPrefix("2."))
        let health = try MilvusResponse.Health(serializedBytes: try await milvus.call("CheckHealth", MilvusRequest.checkHealth(),
                                                                                       deadline: deadline()))
        // A Milvus restarted on old data may report stale nodes for a while: then it must say why.
        #expect(health.status.isSuccess)
        #expect(health.isHealthy || !health.reasons.isEmpty)
    }

    @Test func unknownCollectionIsAMilvusErrorStatus() async throws {
        let milvus = try await channel()
        let reply = try MilvusResponse.DescribeCollection(serializedBytes: try await milvus.call(
            "DescribeCollection", MilvusRequest.describeCollection("vdbm_no_such_collection"), deadline: deadline()))
        #expect(!reply.status.isSuccess)
        #expect(reply.status.reason.contains("vdbm_no_such_collection") || reply.status.reason.contains("not"))
    }

    @Test func collectionLifecycleInsertSearchQueryDelete() async throws {
        let milvus = try await channel()
        let name = "vdbm_it_\(UInt32.random(in: 0...UInt32.max))"
        let schema = MilvusCollectionSchema(name: name, fields: [
            MilvusFieldSchema(name: "id", isPrimaryKey: true, dataType: 5),
            MilvusFieldSchema(name: "vector", dataType: 101, typeParams: [MilvusKeyValue("dim", "\(Self.dim)")]),
            MilvusFieldSchema(name: "tag", dataType: 21, typeParams: [MilvusKeyValue("max_length", "64")]),
        ])
        let created = try MilvusStatus(serializedBytes: try await milvus.call(
            "CreateCollection", MilvusRequest.createCollection(name, schema: schema, consistencyLevel: 0), deadline: deadline()))
        #expect(created.isSuccess, "\(created)")
        defer {
            Task { _ = try? await milvus.call("DropCollection", MilvusRequest.dropCollection(name), deadline: .after(.seconds(30))) }
        }

        let has = try MilvusResponse.Bool(serializedBytes: try await milvus.call(
            "HasCollection", MilvusRequest.hasCollection(name), deadline: deadline()))
        #expect(has.status.isSuccess && has.value)
        let listed = try MilvusResponse.Names.collections(try await milvus.call(
            "ShowCollections", MilvusRequest.showCollections(), deadline: deadline()))
        #expect(listed.names.contains(name))
        let described = try MilvusResponse.DescribeCollection(serializedBytes: try await milvus.call(
            "DescribeCollection", MilvusRequest.describeCollection(name), deadline: deadline()))
        #expect(described.schema?.fields.map(\.name) == ["id", "vector", "tag"])
        #expect(described.schema?.fields.first?.isPrimaryKey == true)

        let ids = (0..<1000).map(Int64.init)
        let inserted = try MilvusResponse.Mutation(serializedBytes: try await milvus.call("Insert", MilvusRequest.insert(name, fields: [
            MilvusFieldData(name: "id", dataType: 5, values: .int64s(ids)),
            MilvusFieldData(name: "vector", dataType: 101,
                            values: .floatVectors(dimension: Self.dim, values: ids.flatMap { Self.vector(Int($0)) })),
            MilvusFieldData(name: "tag", dataType: 21, values: .strings(ids.map { $0 % 2 == 0 ? "even" : "odd" })),
        ]), deadline: deadline()))
        #expect(inserted.status.isSuccess, "\(inserted.status)")
        #expect(inserted.insertCount == 1000)
        #expect(inserted.ids == .int64s(ids))

        let flushed = try MilvusResponse.StatusOnly.flush(try await milvus.call("Flush", MilvusRequest.flush([name]),
                                                                                 deadline: deadline()))
        #expect(flushed.status.isSuccess)
        let indexed = try MilvusStatus(serializedBytes: try await milvus.call("CreateIndex", MilvusRequest.createIndex(
            name, field: "vector", indexName: "vector_idx",
            params: [MilvusKeyValue("index_type", "HNSW"), MilvusKeyValue("metric_type", "L2"),
                     MilvusKeyValue("params", #"{"M": 16, "efConstruction": 64}"#)]), deadline: deadline()))
        #expect(indexed.isSuccess, "\(indexed)")
        let indexes = try MilvusResponse.DescribeIndex(serializedBytes: try await milvus.call(
            "DescribeIndex", MilvusRequest.describeIndex(name), deadline: deadline()))
        #expect(indexes.indexes.map(\.indexName) == ["vector_idx"])

        let loading = try MilvusStatus(serializedBytes: try await milvus.call("LoadCollection", MilvusRequest.loadCollection(name),
                                                                              deadline: deadline()))
        #expect(loading.isSuccess, "\(loading)")
        var state: Int32 = 0
        for _ in 0..<120 {
            state = try MilvusResponse.LoadState(serializedBytes: try await milvus.call(
                "GetLoadState", MilvusRequest.getLoadState(name), deadline: deadline())).state
            if state == 3 { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        #expect(state == 3)

        // Two query vectors: rows 123 and 777 must each come back first, at distance ~0.
        let search = try MilvusResponse.Search(serializedBytes: try await milvus.call("Search", MilvusRequest.search(
            name, vectors: Self.vector(123) + Self.vector(777), dim: Self.dim, filter: "", outputFields: ["tag"],
            params: [MilvusKeyValue("anns_field", "vector"), MilvusKeyValue("topk", "5"),
                     MilvusKeyValue("metric_type", "L2"), MilvusKeyValue("params", #"{"ef": 64}"#)],
            consistencyLevel: 0), deadline: deadline()))
        #expect(search.status.isSuccess, "\(search.status)")
        #expect(search.topks == [5, 5])
        guard case .int64s(let hits) = search.ids else { Issue.record("expected integer ids"); return }
        #expect(hits[0] == 123 && hits[5] == 777)
        #expect(abs(search.scores[0]) < 1e-4 && abs(search.scores[5]) < 1e-4)
        #expect(search.fields.first { $0.name == "tag" }?.values.stringValues?[0] == "odd")

        let filtered = try MilvusResponse.Search(serializedBytes: try await milvus.call("Search", MilvusRequest.search(
            name, vectors: Self.vector(123), dim: Self.dim, filter: "tag == \"even\"", outputFields: [],
            params: [MilvusKeyValue("anns_field", "vector"), MilvusKeyValue("topk", "3"),
                     MilvusKeyValue("metric_type", "L2"), MilvusKeyValue("params", #"{"ef": 64}"#)],
            consistencyLevel: 0), deadline: deadline()))
        guard case .int64s(let evenHits) = filtered.ids else { Issue.record("expected integer ids"); return }
        #expect(evenHits.count == 3 && evenHits.allSatisfy { $0 % 2 == 0 })

        let queried = try MilvusResponse.Query(serializedBytes: try await milvus.call("Query", MilvusRequest.query(
            name, expression: "id in [1, 2, 3]", outputFields: ["id", "tag"], consistencyLevel: 0), deadline: deadline()))
        #expect(queried.status.isSuccess, "\(queried.status)")
        #expect(Set(queried.fields.first { $0.name == "id" }?.values.int64Values ?? []) == [1, 2, 3])

        let deleted = try MilvusResponse.Mutation(serializedBytes: try await milvus.call(
            "Delete", MilvusRequest.delete(name, expression: "id in [1, 2]"), deadline: deadline()))
        #expect(deleted.status.isSuccess && deleted.deleteCount == 2)
        let afterDelete = try MilvusResponse.Query(serializedBytes: try await milvus.call("Query", MilvusRequest.query(
            name, expression: "id in [1, 2, 3]", outputFields: ["id"], consistencyLevel: 0), deadline: deadline()))
        #expect(afterDelete.fields.first { $0.name == "id" }?.values.int64Values == [3])

        let dropped = try MilvusStatus(serializedBytes: try await milvus.call("DropCollection", MilvusRequest.dropCollection(name),
                                                                              deadline: deadline()))
        #expect(dropped.isSuccess)
        let gone = try MilvusResponse.Bool(serializedBytes: try await milvus.call(
            "HasCollection", MilvusRequest.hasCollection(name), deadline: deadline()))
        #expect(!gone.value)
    }
}

extension FieldValues {
    var int64Values: [Int64]? { if case .int64s(let values) = self { values } else { nil } }
    var stringValues: [String]? { if case .strings(let values) = self { values } else { nil } }
}
