import GRPCNGHTTP2
import Logging
import NIOPosix
import Synchronization
import Testing
import VDBMProtobuf
@testable import VDBMBench

/// A stand-in for vdbm.v1.VectorDB/Search on our own gRPC server: it counts the calls and the
/// distinct query vectors it saw, and fails every fifth call.
private final class CountingSearch: GRPCService, Sendable {
    let seen = Mutex<(calls: Int, vectors: Set<[Float]>)>((0, []))
    var serviceName: String { "vdbm.v1.VectorDB" }
    var methods: [MethodDescriptor: MethodHandler] { .init(service: serviceName, handlersByName) }
    var handlersByName: [String: MethodHandler] {
        ["Search": .immediate { [self] bytes, _ throws(GRPCStatus) in
            let request: VDBMv1.Search
            do { request = try VDBMv1.decodeSearch(bytes) } catch { throw GRPCStatus(.invalidArgument, "\(error)") }
            let calls = seen.withLock { state in
                state.calls += 1
                state.vectors.insert(request.vectors.values)
                return state.calls
            }
            if calls % 5 == 0 { throw GRPCStatus(.unavailable, "every fifth") }
            return []
        }]
    }
}

@Suite struct BenchTests {
    @Test func generatedVectorsAreDistinctReproducibleAndInRange() {
        let a = QueryVectors.random(count: 100, dimension: 8, seed: 7)
        let b = QueryVectors.random(count: 100, dimension: 8, seed: 7)
        #expect(a.values == b.values)
        #expect(a.count == 100 && a.values.allSatisfy { $0 >= 0 && $0 < 1 })
        #expect(Set((0..<100).map { Array(a.vector($0)) }).count == 100)
        #expect(QueryVectors.random(count: 1, dimension: 8, seed: 8).values != Array(a.vector(0)))
    }

    @Test func vectorFilesParseOneVectorALine() throws {
        let vectors = try QueryVectors.parse("# queries\n0.5, 1, -2\n\n3 4 5\n")
        #expect(vectors.dimension == 3 && vectors.values == [0.5, 1, -2, 3, 4, 5])
        #expect(throws: BenchError.badVectors("line 2 has 2 components; the first vector has 3")) {
            try QueryVectors.parse("1,2,3\n4,5\n")
        }
        #expect(throws: BenchError.badVectors("line 1: 'x' is not a finite number")) { try QueryVectors.parse("1,x\n") }
        #expect(throws: BenchError.badVectors("no vectors in the file")) { try QueryVectors.parse("\n# nothing\n") }
    }

    @Test func requestsCarryTheirVectorsInTurn() throws {
        let vectors = QueryVectors.random(count: 6, dimension: 2, seed: 1)
        let plan = BenchPlan(collection: "docs", limit: 3, vectorsPerCall: 2, params: [("ef", 32)])
        let requests = BenchRequests(plan: plan, vectors: vectors)
        #expect(requests.path == "/vdbm.v1.VectorDB/Search" && requests.bodies.count == 3)
        let second = try VDBMv1.decodeSearch(requests.bodies[1])
        #expect(second.collection == "docs" && second.limit == 3 && second.vectors.dimension == 2)
        #expect(second.vectors.values == Array(vectors.vector(2)) + Array(vectors.vector(3)))
        #expect(second.params.map(\.key) == ["ef"] && second.params.map(\.value) == [32])
        let milvus = BenchRequests(plan: BenchPlan(target: .milvus, collection: "docs"), vectors: vectors)
        #expect(milvus.path == "/milvus.proto.milvus.MilvusService/Search" && milvus.bodies.count == 6)
    }

    @Test func aMilvusAnswerIsReadForItsStatusOnly() {
        #expect(BenchRunner.milvusOutcome([]) == "OK")
        let failed = MilvusStatus(errorCode: 1, reason: "collection not loaded", code: 101).serializedBytes()
        #expect(BenchRunner.milvusOutcome([0x0A, UInt8(failed.count)] + failed + [0x12, 0x00]) == "MILVUS_101")
        let fine = MilvusStatus.success.serializedBytes()
        #expect(BenchRunner.milvusOutcome([0x0A, UInt8(fine.count)] + fine) == "OK")
    }

    @Test func numbersAreWrittenWithFixedDecimals() {
        #expect(fixed(3.14159, 3) == "3.142")
        #expect(fixed(2, 2) == "2.00")
        #expect(fixed(0.0004, 3) == "0.000")
        #expect(fixed(-1.5, 1) == "-1.5")
        #expect(fixed(1234.5, 0) == "1235")
    }

    @Test func aRunMakesExactlyTheCallsItIsAskedForAndCountsEachOutcome() async throws {
        let service = CountingSearch()
        let server = GRPCServer(configuration: GRPCServerConfiguration(tcp: ("127.0.0.1", 0)),
                                router: GRPCRouter(services: [service]), group: MultiThreadedEventLoopGroup.singleton,
                                logger: Logger(label: "test"))
        try await server.start()
        let plan = BenchPlan(port: server.tcpPort!, collection: "docs", connections: 2, streams: 4, stop: .total(200), warmup: .zero)
        let report = try await BenchRunner.run(plan, vectors: .random(count: 1_000, dimension: 4, seed: 3),
                                               group: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "test"))
        await server.shutdown(grace: .milliseconds(100))
        #expect(report.calls == 200)
        #expect(report.outcomes == ["OK": 160, "UNAVAILABLE": 40])
        #expect(report.latency.totalCount == 200)
        #expect(service.seen.withLock { $0.vectors.count } == 200)  // every call its own query vector
        #expect(report.json.contains("\"calls\": 200") && report.table.contains("UNAVAILABLE: 40"))
        #expect(report.completions.reduce(0, +) == 200)  // every call in one throughput slot
    }
}
