import GRPCNGHTTP2
import Logging
import Testing
import VDBMDomain
import VDBMProtobuf
@testable import VDBMService
import VDBMUtils

/// The VectorDB service behind the call pipeline, with a mock backend: requests built byte by byte (ProtoWriter), answers
/// read back the same way, so the protobuf-c bridge, validation, auth and error mapping are all
/// exercised without Milvus.
@Suite struct VectorDBServiceTests {
    static let keys = ["reader": ("r-key", Role.read), "writer": ("w-key", Role.write), "admin": ("a-key", Role.admin)]

    static func service(_ backend: MockBackend, auth: Bool = false,
                        limits: RequestLimits = RequestLimits(maxBatchRows: 10, maxFilterBytes: 64, maxSearchVectors: 4))
        -> GRPCRouter {
        let authenticator = auth
            ? APIKeyAuthenticator(keys: keys.map { APIKey(name: $0.key, sha256: SHA256.hash(Array($0.value.0.utf8)), role: $0.value.1) })
            : .disabled
        let settings = ServiceSettings(authenticator: authenticator, limits: limits)
        let service = VectorDBService(backend: backend, settings: settings, serverInfo: serverInfo)
        return CallPipeline.router([service], settings: settings, admission: nil)
    }

    static let serverInfo: VectorDBService.ServerInfoSource = { _ in
        VDBMv1.ServerInfo(version: "9.9", milvusEndpoints: ["m:1"], milvusVersion: "v2.3.5", connections: 2,
                          readyConnections: 1, activeCalls: 3, waitingCalls: 0)
    }

    /// Calls `method` with `request`; returns the response bytes or throws the call's status.
    static func call(_ service: GRPCRouter, _ method: String, _ request: [UInt8], key: String? = nil) async throws -> [UInt8] {
        var metadata = Metadata()
        if let key { metadata.append("authorization", .text("Bearer \(key)")) }
        let context = ServerCallContext(path: "/vdbm.v1.VectorDB/\(method)", metadata: metadata, deadline: .after(.seconds(5)),
                                        peer: "test", requestID: "t", logger: Logger(label: "test"))
        guard case .success(.async(let handler)) = service.route("/\(VectorDBService.name)/\(method)") else {
            Issue.record("no method \(method)"); return []
        }
        return try await handler(request, context)
    }

    static func status(_ service: GRPCRouter, _ method: String, _ request: [UInt8], key: String? = nil) async -> GRPCStatus? {
        do {
            _ = try await call(service, method, request, key: key)
            return nil
        } catch let status as GRPCStatus {
            return status
        } catch {
            Issue.record("not a GRPCStatus: \(error)")
            return nil
        }
    }

    static func collection(_ name: String) -> [UInt8] { ProtoWriter { $0.string(1, name) }.bytes }

    static func searchRequest(dimension: UInt64 = 4, values: [Float] = [0.1, 0.2, 0.3, 0.4], limit: UInt64 = 0,
                              filter: String = "", extra: (inout ProtoWriter) -> Void = { _ in }) -> [UInt8] {
        ProtoWriter { w in
            w.string(1, "docs")
            w.message(2) { $0.uint(1, dimension); $0.floats(2, values) }
            if limit > 0 { w.uint(3, limit) }
            if !filter.isEmpty { w.string(4, filter) }
            extra(&w)
        }.bytes
    }

    static func insertRequest(ids: [Int64] = [1, 2], vectors: [Float] = [Float](repeating: 0.5, count: 8), dimension: UInt64 = 4)
        -> [UInt8] {
        ProtoWriter { w in
            w.string(1, "docs")
            w.string(2, "p1")
            w.message(3) { c in c.string(1, "id"); c.message(4) { $0.int64s(1, ids) } }
            w.message(3) { c in c.string(1, "vector"); c.message(9) { $0.uint(1, dimension); $0.floats(2, vectors) } }
            w.message(3) { c in c.string(1, "title"); c.message(7) { v in for id in ids { v.string(1, "t\(id)") } } }
        }.bytes
    }

    // MARK: Every method reaches the backend with the decoded values, and answers

    @Test func collectionMethods() async throws {
        let backend = MockBackend()
        let service = Self.service(backend)
        let create = ProtoWriter { w in
            w.string(1, "docs")
            w.uint(2, 4)
            w.uint(3, 3)  // COSINE
            w.message(9) { $0.string(1, "title"); $0.uint(2, 6); $0.uint(3, 64) }
            w.message(9) { $0.string(1, "score"); $0.uint(2, 5) }
            w.uint(12, 1)  // STRONG
            w.message(13) { i in i.string(1, "HNSW"); i.message(2) { $0.string(1, "M"); $0.uint(2, 8) } }
            w.bool(14, true)
        }.bytes
        #expect(try await Self.call(service, "CreateCollection", create).isEmpty)
        let spec = try #require(backend.state.withLock { $0.specs.first })
        #expect(spec == CollectionSpec(name: "docs", dimension: 4, metric: .cosine,
                                       scalarFields: [ScalarFieldSpec(name: "title", type: .string(maxLength: 64)),
                                                      ScalarFieldSpec(name: "score", type: .double)],
                                       consistency: .strong, index: IndexSpec(type: "HNSW", params: ["M": 8]), load: true))

        #expect(ProtoReader(try await Self.call(service, "HasCollection", Self.collection("docs"))).varint(1) == 1)
        #expect(ProtoReader(try await Self.call(service, "ListCollections", [])).strings(1) == ["a", "docs"])
        let described = ProtoReader(try await Self.call(service, "DescribeCollection", Self.collection("docs")))
        #expect(described.string(1) == "docs")
        #expect(described.varint(5) == 42)
        #expect(described.varint(6) == 3)  // LOADED
        let fields = described.messages(3)
        #expect(fields.map { $0.string(1) } == ["id", "vector", "title"])
        #expect(fields[1].varint(2) == 10 && fields[1].varint(6) == 4)  // FLOAT_VECTOR, dimension 4
        #expect(fields[0].varint(4) == 1)  // primary key
        #expect(described.messages(7).first?.string(1) == "vector_index")
        #expect(try await Self.call(service, "DropCollection", Self.collection("docs")).isEmpty)
        #expect(backend.calls == ["createCollection", "hasCollection", "listCollections", "describeCollection", "dropCollection"])
    }

    @Test func dataMethods() async throws {
        let backend = MockBackend()
        let service = Self.service(backend)
        let inserted = ProtoReader(try await Self.call(service, "Insert", Self.insertRequest()))
        #expect(inserted.message(1).int64s(1) == [0, 1] && inserted.varint(2) == 2)
        let entities = try #require(backend.state.withLock { $0.entities.first })
        #expect(entities.columns["id"] == .int64s([1, 2]))
        #expect(entities.columns["vector"] == .floatVectors(dimension: 4, values: [Float](repeating: 0.5, count: 8)))
        #expect(entities.columns["title"] == .strings(["t1", "t2"]))
        let upserted = ProtoReader(try await Self.call(service, "Upsert", Self.insertRequest()))
        #expect(upserted.message(1).strings(2) == ["k"])

        let deleteIDs = ProtoWriter { w in w.string(1, "docs"); w.message(3) { $0.int64s(1, [4, 5]) } }.bytes
        #expect(ProtoReader(try await Self.call(service, "Delete", deleteIDs)).varint(2) == 2)
        let deleteFilter = ProtoWriter { w in w.string(1, "docs"); w.string(4, "id > 3") }.bytes
        #expect(ProtoReader(try await Self.call(service, "Delete", deleteFilter)).varint(2) == 7)

        let get = ProtoWriter { w in w.string(1, "docs"); w.message(2) { $0.string(2, "x") }; w.string(3, "title") }.bytes
        let got = ProtoReader(try await Self.call(service, "Get", get))
        #expect(got.varint(2) == 2)
        #expect(got.messages(1).map { $0.string(1) } == ["id", "title"])
        #expect(got.messages(1)[1].message(7).strings(1) == ["a", "b"])

        let query = ProtoWriter { w in
            w.string(1, "docs"); w.string(2, "id > 0"); w.string(3, "vector"); w.uint(4, 5); w.uint(5, 2); w.string(6, "p1"); w.uint(7, 4)
        }.bytes
        let queried = ProtoReader(try await Self.call(service, "Query", query))
        let columns = Dictionary(uniqueKeysWithValues: queried.messages(1).map { ($0.string(1), $0) })
        #expect(columns["vector"]?.message(9).floats(2) == [0.5, 1.5])
        #expect(columns["ok"]?.message(2).int64s(1) == [1])
        #expect(columns["n"]?.message(3).int64s(1) == [9])
        #expect(columns["f"]?.message(5).floats(1) == [1.5])
        #expect(columns["j"]?.message(8).strings(1) == ["{}"])
        #expect(columns["d"] != nil)
        let count = ProtoWriter { w in w.string(1, "docs"); w.string(2, "id > 0") }.bytes
        #expect(ProtoReader(try await Self.call(service, "Count", count)).varint(1) == 1234)
        #expect(backend.arguments.contains("docs id > 0 [\"vector\"] Optional(5) 2 [\"p1\"] Optional(VDBMDomain.ConsistencyLevel.eventually)"))
        #expect(backend.arguments.contains("docs int64s([4, 5])"))
        #expect(backend.arguments.contains("docs id > 3"))
    }

    @Test func searchAnswersPerQueryVector() async throws {
        let backend = MockBackend()
        let service = Self.service(backend)
        let request = Self.searchRequest(values: [1, 2, 3, 4, 5, 6, 7, 8], limit: 2, filter: "id > 1") { w in
            w.string(5, "title")
            w.message(6) { $0.string(1, "ef"); $0.uint(2, 64) }
            w.uint(9, 1)
        }
        let reply = ProtoReader(try await Self.call(service, "Search", request))
        let results = reply.messages(1)
        #expect(results.count == 2)
        #expect(results[1].message(1).int64s(1) == [10, 11])
        #expect(results[0].floats(2) == [0.25, 0.5])
        let fields = Dictionary(uniqueKeysWithValues: results[0].messages(3).map { ($0.string(1), $0) })
        #expect(fields["title"]?.message(7).strings(1) == ["t0", "u"])
        #expect(fields["n"]?.message(4).int64s(1) == [5, 6])
        #expect(fields["m"]?.message(3).int64s(1) == [7, 8])  // an INT32 field stays int32s
        let sent = try #require(backend.state.withLock { $0.searches.first })
        #expect(sent == SearchRequest(collection: "docs", vectors: [1, 2, 3, 4, 5, 6, 7, 8], dimension: 4, limit: 2, filter: "id > 1",
                                      outputFields: ["title"], params: ["ef": 64], offset: 1))
    }

    @Test func indexLoadPartitionAndServerMethods() async throws {
        let backend = MockBackend()
        let service = Self.service(backend)
        let createIndex = ProtoWriter { w in
            w.string(1, "docs"); w.message(4) { i in i.string(1, "IVF_FLAT"); i.message(2) { $0.string(1, "nlist"); $0.uint(2, 128) } }
            w.uint(5, 2)
        }.bytes
        #expect(try await Self.call(service, "CreateIndex", createIndex).isEmpty)
        // No field named: the collection's only vector field, described first; the index is named after it.
        #expect(backend.arguments.contains("docs vector vector IVF_FLAT [\"nlist\": 128] innerProduct"))
        let indexes = ProtoReader(try await Self.call(service, "DescribeIndexes", Self.collection("docs"))).messages(1)
        #expect(indexes.first?.messages(3).map { $0.string(1) } == ["M", "index_type"])
        #expect(indexes.first?.varint(4) == 1 && indexes.first?.varint(6) == 3)
        let dropIndex = ProtoWriter { w in w.string(1, "docs"); w.string(2, "vector") }.bytes
        #expect(try await Self.call(service, "DropIndex", dropIndex).isEmpty)
        #expect(try await Self.call(service, "LoadCollection", Self.collection("docs")).isEmpty)
        #expect(try await Self.call(service, "ReleaseCollection", Self.collection("docs")).isEmpty)
        #expect(ProtoReader(try await Self.call(service, "GetLoadState", Self.collection("docs"))).varint(1) == 2)
        let partition = ProtoWriter { w in w.string(1, "docs"); w.string(2, "p1") }.bytes
        #expect(try await Self.call(service, "CreatePartition", partition).isEmpty)
        #expect(try await Self.call(service, "DropPartition", partition).isEmpty)
        #expect(ProtoReader(try await Self.call(service, "ListPartitions", Self.collection("docs"))).strings(1) == ["_default", "p1"])
        #expect(try await Self.call(service, "Flush", ProtoWriter { $0.string(1, "docs"); $0.string(1, "a") }.bytes).isEmpty)
        #expect(backend.arguments.last == "[\"docs\", \"a\"]")
        let info = ProtoReader(try await Self.call(service, "GetServerInfo", []))
        #expect(info.string(1) == "9.9" && info.strings(2) == ["m:1"] && info.string(3) == "v2.3.5")
        #expect(info.message(4).varint(1) == 2 && info.message(4).varint(2) == 1 && info.message(4).varint(3) == 3)
    }

    @Test func everyMethodHasARoleAndAHandler() {
        let service = VectorDBService(backend: MockBackend(), settings: ServiceSettings(), serverInfo: Self.serverInfo)
        let rows = service.table()
        #expect(Set(service.methods.keys.map(\.method)) == Set(rows.map(\.name)))
        #expect(Set(rows.map(\.name)).count == rows.count)  // each method once
        #expect(service.methods.count == 30)
        // The roles docs/api.md's API reference gives, from the one table, stated on the descriptors.
        let roles = Dictionary(uniqueKeysWithValues: service.methods.keys.map { ($0.method, $0.callPolicy.role) })
        #expect(Set(roles.values) == [.read, .write, .admin])
        let table = rows.map { (name: $0.name, role: $0.policy.role) }
        #expect(roles["Search"] == .read && roles["HybridSearch"] == .read && roles["Insert"] == .write && roles["DropCollection"] == .admin)
        #expect(table.filter { $0.role == .admin }.count == 10 && table.filter { $0.role == .write }.count == 5)
        #expect(roles["Export"] == .read && roles["SearchIterator"] == .read && roles["ImportRows"] == .write)
    }

    // MARK: Auth

    @Test func authRejectsMissingMalformedAndUnknownKeys() async {
        let backend = MockBackend()
        let service = Self.service(backend, auth: true)
        #expect(await Self.status(service, "ListCollections", [])?.code == .unauthenticated)
        #expect(await Self.status(service, "ListCollections", [], key: "nope")?.code == .unauthenticated)
        var metadata = Metadata()
        metadata.append("authorization", .text("Basic abc"))
        #expect(throws: GRPCStatus.self) {
            try APIKeyAuthenticator(keys: []).authorize(metadata, needs: .read)
        }
        #expect(backend.calls.isEmpty)
    }

    @Test(arguments: [("reader", "Search", false), ("reader", "Insert", true), ("writer", "Insert", false),
                      ("writer", "Flush", false), ("writer", "DropCollection", true), ("admin", "DropCollection", false),
                      ("reader", "GetServerInfo", false), ("writer", "CreateIndex", true)])
    func rolesDecideWhatAKeyMayCall(who: String, method: String, denied: Bool) async throws {
        let service = Self.service(MockBackend(), auth: true)
        let request: [UInt8] = switch method {
        case "Search": Self.searchRequest()
        case "Insert": Self.insertRequest()
        case "Flush": ProtoWriter { $0.string(1, "docs") }.bytes
        case "CreateIndex": ProtoWriter { w in w.string(1, "docs"); w.message(4) { $0.string(1, "FLAT") } }.bytes
        case "GetServerInfo": []
        default: Self.collection("docs")
        }
        let status = await Self.status(service, method, request, key: Self.keys[who]!.0)
        #expect((status?.code == .permissionDenied) == denied, "\(who) \(method): \(String(describing: status))")
        #expect(status == nil || denied)
    }

    // MARK: Validation: INVALID_ARGUMENT, and the backend is never called

    @Test(arguments: [
        ("Search", searchRequest(values: [1, 2, 3, .nan]), "NaN or infinite"),
        ("Search", searchRequest(values: [1, 2, .infinity, 4]), "NaN or infinite"),
        ("Search", searchRequest(values: [1, 2, 3]), "whole number"),
        ("Search", searchRequest(dimension: 0, values: []), "vectors is empty"),
        ("Search", searchRequest(values: [Float](repeating: 1, count: 20)), "at most 4"),
        ("Search", searchRequest(limit: 20_000), "limit + offset"),
        ("Search", searchRequest(filter: String(repeating: "x", count: 65)), "filter is 65 bytes"),
        ("Search", searchRequest { $0.message(6) { $0.string(1, "ef"); $0.uint(2, 1) }; $0.message(6) { $0.string(1, "ef") } }, "twice"),
        ("Search", searchRequest { $0.uint(8, 9) }, "consistency 9"),
        ("Search", searchRequest { $0.string(5, "") }, "empty name"),
        ("Insert", insertRequest(vectors: [1, 2, 3, .nan, 1, 1, 1, 1]), "NaN or infinite"),
        ("Insert", insertRequest(ids: Array(0..<11), vectors: [Float](repeating: 1, count: 44)), "at most 10"),
        // An embedded NUL (U+0000) is refused wherever it is a name or an expression: read up to
        // the NUL, these requests used to act on another collection or on every row.
        ("DropCollection", ProtoWriter { $0.string(1, "victim\u{0}other") }.bytes, "collection name contains a NUL"),
        ("CreateCollection", ProtoWriter { $0.string(1, "probe_\u{0}x"); $0.uint(2, 4) }.bytes, "collection name contains a NUL"),
        ("Insert", ProtoWriter { w in w.string(1, "name\u{0}zz"); w.message(3) { c in c.string(1, "id"); c.message(4) { $0.int64s(1, [1]) } } }.bytes,
         "collection name contains a NUL"),
        ("Delete", ProtoWriter { $0.string(1, "docs"); $0.string(4, "id >= 0\u{0} and id == 2") }.bytes, "filter contains a NUL"),
        ("Count", ProtoWriter { $0.string(1, "docs"); $0.string(2, "id == 1\u{0} or id > 0") }.bytes, "filter contains a NUL"),
        ("Query", ProtoWriter { $0.string(1, "docs"); $0.string(2, "id > 0"); $0.string(3, "ti\u{0}tle") }.bytes, "output_fields name contains a NUL"),
        ("Search", searchRequest(filter: "id > 0\u{0} or id < 0"), "filter contains a NUL"),
        ("Search", searchRequest { $0.string(5, "ti\u{0}tle") }, "output_fields name contains a NUL"),
        ("Search", searchRequest { $0.message(6) { $0.string(1, "e\u{0}f"); $0.uint(2, 1) } }, "params key name contains a NUL"),
        ("CreatePartition", ProtoWriter { $0.string(1, "docs"); $0.string(2, "p\u{0}1") }.bytes, "partition name contains a NUL"),
        ("DropIndex", ProtoWriter { $0.string(1, "docs"); $0.string(2, "v\u{0}x") }.bytes, "index name contains a NUL"),
        // Settings Milvus would take and ignore.
        ("CreateCollection", ProtoWriter { w in w.string(1, "docs"); w.uint(2, 4); w.message(9) { f in f.string(1, "tag"); f.uint(2, 3); f.uint(3, 10) } }.bytes,
         "max_length is for STRING fields only"),
        ("CreateCollection", ProtoWriter { $0.string(1, "docs"); $0.uint(2, 4); $0.uint(6, 32) }.bytes, "max_key_length is for a string primary key"),
        // Strings that are not UTF-8 (proto3 requires it; protobuf-c does not check).
        ("Count", ProtoWriter { $0.string(1, "docs"); $0.bytes(2, [0x69, 0x64, 0xFF]) }.bytes, "filter is not valid UTF-8"),
        ("DropCollection", ProtoWriter { $0.bytes(1, [0x64, 0xC3]) }.bytes, "collection is not valid UTF-8"),
        ("Insert", insertRequest(vectors: [1, 2, 3, 4, 5, 6, 7]), "whole number"),
        ("Insert", ProtoWriter { $0.string(1, "docs") }.bytes, "nothing to write"),
        ("Insert", ProtoWriter { w in w.string(1, "docs"); w.message(3) { $0.string(1, "id") } }.bytes, "has no values"),
        ("Insert", ProtoWriter { w in w.string(1, "docs"); w.message(3) { c in c.string(1, "id"); c.message(4) { $0.int64s(1, [1]) } }
            w.message(3) { c in c.string(1, "id"); c.message(4) { $0.int64s(1, [1]) } } }.bytes, "given twice"),
        ("Insert", ProtoWriter { w in w.string(1, "docs"); w.string(2, "bad-partition") }.bytes, "partition name"),
        ("DescribeCollection", collection("bad name"), "collection name"),
        ("DescribeCollection", collection(""), "collection name is empty"),
        ("DescribeCollection", collection(String(repeating: "a", count: 256)), "at most 255"),
        ("CreateCollection", ProtoWriter { $0.string(1, "docs") }.bytes, "dimension 0"),
        ("CreateCollection", ProtoWriter { w in w.string(1, "docs"); w.uint(2, 4); w.uint(3, 7) }.bytes, "metric 7"),
        ("CreateCollection", ProtoWriter { w in w.string(1, "docs"); w.uint(2, 4); w.bool(4, true); w.bool(5, true) }.bytes, "auto_id"),
        ("CreateCollection", ProtoWriter { w in w.string(1, "docs"); w.uint(2, 4); w.message(9) { $0.string(1, "x") } }.bytes, "has no type"),
        ("CreateCollection", ProtoWriter { w in w.string(1, "docs"); w.uint(2, 4); w.message(9) { $0.string(1, "x"); $0.uint(2, 6) } }.bytes, "max_length"),
        ("CreateCollection", ProtoWriter { w in w.string(1, "docs"); w.uint(2, 4); w.message(9) { $0.string(1, "x"); $0.uint(2, 99) } }.bytes, "unknown type"),
        ("CreateCollection", ProtoWriter { w in w.string(1, "docs"); w.uint(2, 4); w.bool(14, true) }.bytes, "load needs an index"),
        ("CreateCollection", ProtoWriter { w in w.string(1, "docs"); w.uint(2, 4); w.message(13) { _ in } }.bytes, "index.type"),
        ("Delete", ProtoWriter { $0.string(1, "docs") }.bytes, "give ids or a filter"),
        ("Delete", ProtoWriter { w in w.string(1, "docs"); w.string(4, "id > 1"); w.message(3) { $0.int64s(1, [1]) } }.bytes, "not both"),
        ("Delete", ProtoWriter { w in w.string(1, "docs"); w.string(4, String(repeating: "y", count: 100)) }.bytes, "filter is 100"),
        ("Get", ProtoWriter { $0.string(1, "docs") }.bytes, "ids is empty"),
        ("Get", ProtoWriter { w in w.string(1, "docs"); w.message(2) { $0.int64s(1, [1]); $0.string(2, "a") } }.bytes, "both"),
        ("Get", ProtoWriter { w in w.string(1, "docs"); w.message(2) { v in for i in 0..<11 { v.string(2, "k\(i)") } } }.bytes, "at most 10"),
        ("Query", ProtoWriter { $0.string(1, "docs") }.bytes, "a filter or a limit"),
        ("Query", ProtoWriter { w in w.string(1, "docs"); w.uint(4, 16_384); w.uint(5, 1) }.bytes, "limit + offset"),
        ("Query", ProtoWriter { w in w.string(1, "docs"); w.string(2, "a > 1"); w.uint(5, 1) }.bytes, "offset needs a limit"),
        ("Count", ProtoWriter { w in w.string(1, "docs"); w.string(2, String(repeating: "z", count: 65)) }.bytes, "filter is 65"),
        ("CreateIndex", collection("docs"), "index is missing"),
        ("DropIndex", collection("docs"), "index name is empty"),
        ("CreatePartition", collection("docs"), "partition name is empty"),
        ("Flush", [], "nothing to flush"),
    ])
    func badRequestsAreInvalidArgument(method: String, request: [UInt8], message: String) async {
        let backend = MockBackend()
        let status = await Self.status(Self.service(backend), method, request)
        #expect(status?.code == .invalidArgument, "\(method): \(String(describing: status))")
        #expect(status?.message.contains(message) == true, "\(String(describing: status?.message)) lacks '\(message)'")
        #expect(backend.calls.filter { $0 != "describeCollection" }.isEmpty)
    }

    @Test func undecodableBytesNameTheExpectedMessage() async {
        let status = await Self.status(Self.service(MockBackend()), "Search", [0x0A, 0x05, 0x61])
        #expect(status == GRPCStatus(.invalidArgument, "request is not a valid vdbm.v1.SearchRequest message"))
    }

    @Test(arguments: [[0x0A, 0xFF, 0xFF], [0xFF, 0xFF, 0xFF, 0xFF], [0x0A, 0x05, 0x61], [0x08, 0x2A], [0x15, 0, 0, 0x80, 0x3F]] as [[UInt8]])
    func malformedOrMistypedProtobufIsInvalidArgument(bytes: [UInt8]) async {
        let backend = MockBackend()
        for method in ["Search", "Insert", "CreateCollection", "Query", "DescribeCollection"] {
            let status = await Self.status(Self.service(backend), method, bytes)
            // Undecodable bytes name the message type; a field unknown to the method's message is
            // skipped (protobuf rules), and the request then fails validation instead.
            #expect(status?.code == .invalidArgument, "\(method) \(bytes)")
        }
        #expect(backend.calls.isEmpty)
    }

    // MARK: Backend errors map one-to-one onto status codes

    @Test(arguments: [
        (VectorDBError.notFound("x"), GRPCStatus.Code.notFound), (.alreadyExists("x"), .alreadyExists),
        (.invalidArgument("x"), .invalidArgument), (.unavailable("x"), .unavailable), (.deadlineExceeded("x"), .deadlineExceeded),
        (.rateLimited("x"), .resourceExhausted), (.resourceExhausted("x"), .resourceExhausted),
        (.unauthenticated("x"), .unauthenticated), (.permissionDenied("x"), .permissionDenied),
        (.milvus(code: 65535, reason: "boom"), .internal), (.internal("x"), .internal),
    ])
    func backendErrorsMapToTheirCodes(error: VectorDBError, code: GRPCStatus.Code) async {
        let backend = MockBackend()
        backend.fail(with: error)
        let status = await Self.status(Self.service(backend), "Search", Self.searchRequest())
        #expect(status?.code == code)
        if case .milvus = error { #expect(status?.message == "Milvus error 65535: boom") }
    }
}
