import Foundation
@testable import GRPCNGHTTP2
import Logging
import NIOCore
import NIOEmbedded
@testable import VDBMDaemon
import VDBMManager
import VDBMProtobuf
@testable import VDBMService
import VDBMUtils

/// What the fuzzers feed arbitrary bytes to. Each must end normally on any input: an error is an
/// answer, a crash (or, under AddressSanitizer, a memory error or leak) is a finding.
enum FuzzTarget: String, CaseIterable {
    /// The gRPC length-prefixed message deframer, bytes cut at a point the input chooses.
    case deframer
    /// The `grpc-timeout` header parser, W3C `traceparent` and percent-decoding.
    case headers
    /// Every vdbm.v1 request decoder, then the validation its method runs (the first byte picks
    /// the method).
    case requests
    /// Every Milvus response decoder vdbm uses (the first byte picks one).
    case milvusResponses = "milvus-responses"
    /// The configuration file reader (YAML flattening and every key's checks).
    case config
    /// Raw bytes into a server connection: nghttp2 session and handler, in an embedded channel.
    case serverConnection = "server-connection"
    /// The pass-through's search merging: an SDK's `SearchRequest` read and merged again, or
    /// Milvus's `SearchResults` cut into every run of its queries (the first byte picks which,
    /// and how many queries the answer is for).
    case passThroughSearch = "pass-through-search"

    func run(_ bytes: [UInt8]) {
        switch self {
        case .deframer: Self.deframer(bytes)
        case .headers: Self.headers(bytes)
        case .requests: Self.requests(bytes)
        case .milvusResponses: Self.milvusResponses(bytes)
        case .config: Self.config(bytes)
        case .serverConnection: Self.serverConnection(bytes)
        case .passThroughSearch: Self.passThroughSearch(bytes)
        }
    }

    private static func deframer(_ bytes: [UInt8]) {
        var deframer = MessageDeframer(maxMessageBytes: 1 << 16)
        let cut = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
        for part in [Array(bytes[..<cut]), Array(bytes[cut...])] {
            do { try deframer.feed(part) { _ throws(MessageDeframer.Failure) in } } catch { return }
        }
    }

    private static func headers(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        _ = GRPCTimeout.parse(text)
        _ = TraceContext.parse(text)
        _ = PercentEncoding.decode(text)
    }

    private static func requests(_ bytes: [UInt8]) {
        guard let selector = bytes.first else { return }
        let body = Array(bytes.dropFirst())
        let check = RequestValidation(limits: RequestLimits())
        do {
            switch selector % 14 {
            case 0: _ = try check.createCollection(try VDBMv1.decodeCreateCollection(body))
            case 1: _ = try check.write(try VDBMv1.decodeWrite(body))
            case 2: _ = try check.search(try VDBMv1.decodeSearch(body))
            case 3: _ = try check.query(try VDBMv1.decodeQuery(body))
            case 4:
                let request = try VDBMv1.decodeGet(body)
                _ = try check.keys(request.ids, what: "ids")
                try check.outputFields(request.outputFields)
            case 5:
                let request = try VDBMv1.decodeDelete(body)
                _ = try check.keys(request.ids, what: "ids")
                try check.filter(request.filter)
            case 6:
                let request = try VDBMv1.decodeCreateIndex(body)
                if let index = request.index { _ = try check.index(index) }
                _ = try check.metric(request.metric)
            case 7: try check.names(try VDBMv1.decodeFlush(body).collections, kind: "collection")
            case 8: try check.name(try VDBMv1.decodeCollection(body).collection, kind: "collection")
            case 9:
                let request = try VDBMv1.decodeCount(body)
                try check.filter(request.filter)
            case 10:
                let request = try VDBMv1.decodePartition(body)
                try check.name(request.partition, kind: "partition")
            case 11: _ = try check.hybridSearch(try VDBMv1.decodeHybridSearch(body))
            case 12: _ = try check.searchIterator(try VDBMv1.decodeSearchIterator(body))
            default:
                let request = try VDBMv1.decodeDropIndex(body)
                try check.name(request.indexName, kind: "index")
            }
        } catch {
            return
        }
    }

    /// Decodes, then reads as the manager does (hits cut per query vector, columns checked,
    /// mutation counts checked), with a query or row count taken from the selector's high bits.
    private static func milvusResponses(_ bytes: [UInt8]) {
        guard let selector = bytes.first else { return }
        let body = Array(bytes.dropFirst())
        let count = Int(selector / 13 % 8) + 1
        switch selector % 13 {
        case 0:
            guard let reply = try? MilvusResponse.Search(serializedBytes: body) else { return }
            _ = try? VectorDBManager.results(reply, queries: count)
        case 1:
            guard let reply = try? MilvusResponse.Query(serializedBytes: body) else { return }
            _ = try? MilvusFieldData.checkRows(reply.fields.filter(\.isReadable), answer: "query")
        case 2:
            guard let reply = try? MilvusResponse.Mutation(serializedBytes: body) else { return }
            _ = try? VectorDBManager.mutationResult(reply, rows: count, upsert: selector & 0x80 != 0)
        case 3: _ = try? MilvusResponse.DescribeCollection(serializedBytes: body)
        case 4: _ = try? MilvusResponse.Names.collections(body)
        case 5: _ = try? MilvusResponse.DescribeIndex(serializedBytes: body)
        case 6: _ = try? MilvusResponse.Version(serializedBytes: body)
        case 7: _ = try? MilvusStatus(serializedBytes: body)
        case 8: _ = try? MilvusResponse.LoadState(serializedBytes: body)
        case 9: _ = try? MilvusResponse.Statistics(serializedBytes: body)
        case 10: _ = try? MilvusResponse.Health(serializedBytes: body)
        case 11: _ = try? MilvusResponse.Names.partitions(body)
        default: _ = try? MilvusResponse.Bool(serializedBytes: body)
        }
    }

    private static func passThroughSearch(_ bytes: [UInt8]) {
        guard let selector = bytes.first else { return }
        let body = Array(bytes.dropFirst())
        if selector % 2 == 0 {
            guard let parts = MilvusSearchRequestParts(request: body),
                  let merged = parts.merged(vectors: parts.vectors + parts.vectors, guaranteeTimestamp: parts.guaranteeTimestamp)
            else { return }
            _ = MilvusSearchRequestParts(request: merged)
        } else {
            let queries = Int(selector / 2 % 8) + 1
            guard let results = try? MilvusMergedSearchResults.read(body, queries: queries).get() else { return }
            for first in 0..<queries {
                for last in first..<queries { _ = results.answer(queries: first..<(last + 1)) }
            }
        }
    }

    private static let configPath = NSTemporaryDirectory() + "vdbm-fuzz-\(getpid()).yaml"

    private static func config(_ bytes: [UInt8]) {
        guard FileManager.default.createFile(atPath: configPath, contents: Data(bytes)) else { return }
        _ = try? VDBMConfiguration.load(filePath: configPath, environment: [:], overrides: [])
    }

    private static func serverConnection(_ bytes: [UInt8]) {
        let channel = EmbeddedChannel()
        let limits = GRPCServerLimits(maxMessageBytes: 1 << 16)
        let handler = GRPCServerConnectionHandler(
            router: router, limits: limits, budget: RequestMemoryBudget(limit: 1 << 20), logger: logger, observers: [],
            connectionTag: "fuzz")
        do {
            try channel.pipeline.syncOperations.addHandler(handler)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            // The client preface first, so that the bytes reach the frame parser.
            var buffer = channel.allocator.buffer(capacity: bytes.count + 24)
            buffer.writeString("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            buffer.writeBytes(bytes)
            try channel.writeInbound(buffer)
            channel.embeddedEventLoop.run()
            while (try? channel.readOutbound(as: ByteBuffer.self)) != nil {}
        } catch {
            // A refused connection is an answer.
        }
        _ = try? channel.finish()
    }

    private static let logger = Logger(label: "fuzz") { _ in SwiftLogNoOpLogHandler() }

    private static let router = GRPCRouter(services: [EchoService()])

    private struct EchoService: GRPCService {
        var serviceName: String { "fuzz.Echo" }
        var methods: [MethodDescriptor: MethodHandler] {
            [MethodDescriptor(service: serviceName, method: "Echo"): .immediate { bytes, _ throws(GRPCStatus) in bytes },
             MethodDescriptor(service: serviceName, method: "Fail"): .immediate { _, _ throws(GRPCStatus) in
                 throw GRPCStatus(.invalidArgument, "no")
             }]
        }
    }
}
