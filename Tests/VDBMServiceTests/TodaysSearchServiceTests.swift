import GRPCNGHTTP2
import Testing
import VDBMDomain
@testable import VDBMProtobuf
@testable import VDBMService

/// Sparse and text queries, HybridSearch, the schema options of CreateCollection and databases,
/// from the wire to the backend.
@Suite struct TodaysSearchServiceTests {
    private typealias Support = VectorDBServiceTests

    private func sparseRow(_ w: inout ProtoWriter, _ indices: [UInt64], _ values: [Float]) {
        w.message(1) { row in
            row.bytes(1, indices.flatMap { index -> [UInt8] in
                var writer = ProtoWriter()
                writer.varint(index)
                return writer.bytes
            })
            row.floats(2, values)
        }
    }

    @Test func aSearchTakesSparseVectorsOrTexts() async throws {
        let backend = MockBackend()
        let service = Support.service(backend)
        _ = try await Support.call(service, "Search", ProtoWriter { w in
            w.string(1, "docs")
            w.message(14) { self.sparseRow(&$0, [7, 2], [0.7, 0.2]) }
            w.string(13, "learned")
        }.bytes)
        _ = try await Support.call(service, "Search", ProtoWriter { w in w.string(1, "docs"); w.string(15, "vector search"); w.string(15, "b") }.bytes)
        let searches = backend.state.withLock { $0.searches }
        #expect(searches[0].queries == .sparseVectors([SparseVector(indices: [7, 2], values: [0.7, 0.2])]))
        #expect(searches[0].vectorField == "learned" && searches[0].vectors.isEmpty)
        #expect(searches[1].queries == .texts(["vector search", "b"]))
    }

    @Test(arguments: [
        (ProtoWriter { w in w.string(1, "docs"); w.string(15, "x"); w.message(2) { $0.uint(1, 2); $0.floats(2, [1, 2]) } }.bytes,
         "vectors, sparse_vectors and texts: give one kind of queries"),
        (ProtoWriter { w in w.string(1, "docs"); w.message(14) { $0.message(1) { $0.floats(2, [1]) } } }.bytes,
         "sparse_vectors row 0: 0 indices for 1 values"),
        (ProtoWriter { w in w.string(1, "docs"); w.string(15, "a\u{0}b") }.bytes, "texts[0] contains a NUL character (U+0000)"),
        (ProtoWriter { w in w.string(1, "docs"); w.string(15, String(repeating: "w", count: 65)) }.bytes,
         "texts[0] is 65 bytes; at most 64 are allowed"),
        (ProtoWriter { w in w.string(1, "docs"); for _ in 0..<5 { w.string(15, "w") } }.bytes, "5 queries in one call; at most 4"),
        (ProtoWriter { w in w.string(1, "docs") }.bytes,
         "vectors is empty: give vectors.dimension and at least one query vector (or sparse_vectors, or texts)"),
    ] as [([UInt8], String)])
    func badQueriesAreInvalidArgument(request: [UInt8], message: String) async {
        let backend = MockBackend()
        let status = await Support.status(Support.service(backend), "Search", request)
        #expect(status == GRPCStatus(.invalidArgument, message))
        #expect(backend.state.withLock { $0.calls }.isEmpty)
    }

    private func hybridRequest(ranker: ((inout ProtoWriter) -> Void)? = nil, extra: (inout ProtoWriter) -> Void = { _ in }) -> [UInt8] {
        ProtoWriter { w in
            w.string(1, "docs")
            w.message(2) { s in s.string(1, "dense"); s.message(2) { $0.uint(1, 2); $0.floats(2, [1, 2]) }; s.uint(5, 30); s.string(6, "n > 1") }
            w.message(2) { s in s.string(4, "words"); s.message(7) { $0.string(1, "drop_ratio_search"); $0.double(3, 0.2) } }
            if let ranker { w.message(3, ranker) }
            w.uint(4, 7)
            w.string(5, "title")
            extra(&w)
        }.bytes
    }

    @Test func aHybridSearchReachesTheBackendWithItsRanker() async throws {
        let backend = MockBackend()
        let service = Support.service(backend)
        let answer = ProtoReader(try await Support.call(service, "HybridSearch", hybridRequest()))
        #expect(answer.messages(1).count == 1 && answer.messages(1)[0].message(1).int64s(1) == [3, 1])
        _ = try await Support.call(service, "HybridSearch", hybridRequest(ranker: { $0.message(2) { $0.floats(1, [0.7, 0.3]); $0.bool(2, true) } }))
        _ = try await Support.call(service, "HybridSearch", hybridRequest(ranker: { $0.message(1) { $0.uint(1, 20) } }))
        _ = try await Support.call(service, "HybridSearch", hybridRequest(ranker: { $0.message(1) { _ in } }))
        let requests = backend.state.withLock { $0.hybridSearches }
        #expect(requests.map(\.ranker) == [.reciprocalRankFusion(k: 60), .weighted([0.7, 0.3], rawScores: true),
                                           .reciprocalRankFusion(k: 20), .reciprocalRankFusion(k: 60)])
        let first = requests[0]
        #expect(first.limit == 7 && first.outputFields == ["title"] && first.searches.count == 2)
        #expect(first.searches[0] == SubSearch(vectorField: "dense", queries: .floatVectors([1, 2], dimension: 2), limit: 30, filter: "n > 1"))
        #expect(first.searches[1] == SubSearch(queries: .texts(["words"]), params: ["drop_ratio_search": .double(0.2)]))
    }

    @Test(arguments: [
        (ProtoWriter { $0.string(1, "docs") }.bytes, "searches has 0 entries; a hybrid search has 1 to 1024"),
        (ProtoWriter { w in w.string(1, "docs"); w.message(2) { $0.string(4, "a") }; w.uint(4, 16_384); w.uint(8, 1) }.bytes,
         "limit + offset is 16385; at most 16384"),
        (ProtoWriter { w in w.string(1, "docs"); w.message(2) { $0.string(4, "a"); $0.uint(5, 20_000) } }.bytes,
         "searches[0].limit is 20000; at most 16384"),
        (ProtoWriter { w in w.string(1, "docs"); w.message(2) { $0.string(4, "a"); $0.string(1, "bad name") } }.bytes,
         "searches[0].vector_field name 'bad name' must start with a letter or _ and hold only letters, digits and _ (at most 255)"),
        (ProtoWriter { w in w.string(1, "docs"); w.message(2) { _ in } }.bytes,
         "searches[0].vectors is empty: give searches[0].vectors.dimension and at least one query vector (or searches[0].sparse_vectors, or searches[0].texts)"),
        (ProtoWriter { w in w.string(1, "docs"); w.message(2) { $0.string(4, "a") }; w.message(3) { $0.message(2) { $0.floats(1, [.nan]) } } }.bytes,
         "ranker.weighted.weights has a NaN or infinite component at position 0"),
    ] as [([UInt8], String)])
    func badHybridSearchesAreInvalidArgument(request: [UInt8], message: String) async {
        let backend = MockBackend()
        let status = await Support.status(Support.service(backend), "HybridSearch", request)
        #expect(status == GRPCStatus(.invalidArgument, message))
        #expect(backend.state.withLock { $0.calls }.isEmpty)
    }

    @Test func createCollectionCarriesVectorFieldsFunctionsAndFieldOptions() async throws {
        let backend = MockBackend()
        _ = try await Support.call(Support.service(backend), "CreateCollection", ProtoWriter { w in
            w.string(1, "rag")
            w.message(9) { f in f.string(1, "text"); f.uint(2, 6); f.uint(3, 200); f.bool(5, true); f.string(6, #"{"type":"english"}"#); f.bool(7, true) }
            w.message(9) { f in f.string(1, "tenant"); f.uint(2, 6); f.uint(3, 16); f.bool(8, true) }
            w.message(9) { f in f.string(1, "lang"); f.uint(2, 6); f.uint(3, 8); f.message(9) { $0.string(4, "en") } }
            w.message(9) { f in f.string(1, "stars"); f.uint(2, 3); f.message(9) { $0.int(2, 3) } }
            w.message(9) { f in f.string(1, "ok"); f.uint(2, 1); f.message(9) { $0.bool(1, true) } }
            w.message(15) { v in v.string(1, "bm25"); v.uint(2, 1); v.message(5) { $0.string(1, "SPARSE_INVERTED_INDEX") } }
            w.message(15) { v in v.string(1, "dense"); v.uint(3, 8); v.uint(4, 3) }
            w.message(16) { f in f.string(1, "f"); f.uint(2, 1); f.string(3, "text"); f.string(4, "bm25") }
            w.uint(17, 8)
        }.bytes)
        let spec = try #require(backend.state.withLock { $0.specs.last })
        #expect(!spec.hasQuickVectorField && spec.partitionCount == 8)
        #expect(spec.scalarFields.map(\.defaultValue) == [nil, nil, .string("en"), .int(3), .bool(true)])
        #expect(spec.scalarFields[0].enableAnalyzer && spec.scalarFields[0].enableMatch && spec.scalarFields[1].isPartitionKey)
        #expect(spec.scalarFields[0].analyzerParams == #"{"type":"english"}"#)
        #expect(spec.vectorFields == [VectorFieldSpec(name: "bm25", kind: .sparse, index: IndexSpec(type: "SPARSE_INVERTED_INDEX")),
                                      VectorFieldSpec(name: "dense", kind: .float(dimension: 8), metric: .cosine)])
        #expect(spec.functions == [FunctionSpec(name: "f", type: .bm25, inputFields: ["text"], outputFields: ["bm25"])])
    }

    @Test(arguments: [
        (ProtoWriter { w in w.string(1, "c"); w.message(15) { $0.string(1, "s"); $0.uint(2, 1); $0.uint(3, 4) } }.bytes,
         "vector field 's': a sparse field has no dimension"),
        (ProtoWriter { w in w.string(1, "c"); w.message(15) { $0.string(1, "s"); $0.uint(2, 5) } }.bytes, "vector field 's' has unknown type 5"),
        (ProtoWriter { w in w.string(1, "c"); w.message(15) { $0.string(1, "d"); $0.uint(3, 40_000) } }.bytes,
         "vector field 'd': dimension 40000 is outside 1...32768"),
        (ProtoWriter { w in w.string(1, "c"); w.message(15) { $0.string(1, "d"); $0.uint(3, 4); $0.uint(4, 9) } }.bytes,
         "vector field 'd': metric 9 is not a known Metric"),
        (ProtoWriter { w in w.string(1, "c"); w.message(15) { $0.string(1, "d"); $0.uint(3, 4) }; w.message(16) { $0.string(1, "f") } }.bytes,
         "function 'f' has no type"),
        (ProtoWriter { w in w.string(1, "c"); w.message(15) { $0.string(1, "d"); $0.uint(3, 4) }; w.message(16) { $0.string(1, "f"); $0.uint(2, 7) } }.bytes,
         "function 'f' has unknown type 7"),
        (ProtoWriter { w in w.string(1, "c"); w.message(15) { $0.string(1, "d"); $0.uint(3, 4) }; w.message(13) { $0.string(1, "FLAT") } }.bytes,
         "index and metric are for the quick-setup vector field; with dimension 0 there is none (give each of vector_fields its own)"),
        (ProtoWriter { w in w.string(1, "c"); w.uint(2, 4); w.uint(17, 5000) }.bytes, "partition_count 5000 is above 4096"),
        (ProtoWriter { w in w.string(1, "c"); w.uint(2, 4); w.message(9) { f in f.string(1, "x"); f.uint(2, 5); f.message(9) { $0.double(3, .nan) } } }.bytes,
         "scalar field 'x': default_value nan is not finite"),
    ] as [([UInt8], String)])
    func badSchemasAreInvalidArgument(request: [UInt8], message: String) async {
        let backend = MockBackend()
        let status = await Support.status(Support.service(backend), "CreateCollection", request)
        #expect(status == GRPCStatus(.invalidArgument, message))
        #expect(backend.state.withLock { $0.calls }.isEmpty)
    }

    @Test func eachRequestActsInItsDatabase() async throws {
        let backend = MockBackend()
        let service = Support.service(backend)
        _ = try await Support.call(service, "Count", ProtoWriter { $0.string(1, "docs"); $0.string(3, "tenants") }.bytes)
        _ = try await Support.call(service, "HasCollection", ProtoWriter { $0.string(1, "docs"); $0.string(2, "tenants") }.bytes)
        _ = try await Support.call(service, "HasCollection", Support.collection("docs"))
        _ = try await Support.call(service, "ListCollections", ProtoWriter { $0.string(1, "archive") }.bytes)
        _ = try await Support.call(service, "Search", Support.searchRequest { $0.string(16, "tenants") })
        _ = try await Support.call(service, "Flush", ProtoWriter { $0.string(1, "docs"); $0.string(2, "tenants") }.bytes)
        #expect(backend.state.withLock { $0.databases } == ["tenants", "tenants", nil, "archive", "tenants", "tenants"])
        #expect(await Support.status(service, "Count", ProtoWriter { $0.string(1, "docs"); $0.string(3, "a-b") }.bytes)?.code == .invalidArgument)
        #expect(backend.state.withLock { $0.databases }.count == 6)
    }

    @Test func databasesAreCreatedListedAndDropped() async throws {
        let backend = MockBackend()
        let service = Support.service(backend)
        _ = try await Support.call(service, "CreateDatabase", ProtoWriter { $0.string(1, "archive") }.bytes)
        _ = try await Support.call(service, "DropDatabase", ProtoWriter { $0.string(1, "archive") }.bytes)
        #expect(ProtoReader(try await Support.call(service, "ListDatabases", [])).strings(1) == ["default", "tenants"])
        #expect(backend.state.withLock { Array(zip($0.calls, $0.arguments)) }.map { "\($0.0) \($0.1)" }
            == ["createDatabase archive", "dropDatabase archive", "listDatabases "])
        #expect(await Support.status(service, "CreateDatabase", ProtoWriter { $0.string(1, "") }.bytes)?.code == .invalidArgument)
    }
}
