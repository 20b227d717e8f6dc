import Logging
import NIOPosix
import Testing
import VDBMUtils
@testable import GRPCNGHTTP2

private struct EchoService: GRPCService {
    var serviceName: String { "test.Echo" }
    var methods: [MethodDescriptor: MethodHandler] { .init(service: serviceName, handlersByName) }
    var handlersByName: [String: MethodHandler] {
        [
            "Echo": .immediate { bytes, _ throws(GRPCStatus) in bytes },
            "Fail": .immediate { _, _ throws(GRPCStatus) in throw GRPCStatus(.notFound, "no such thing: ü") },
            "Slow": .async { bytes, _ in
                try await Task.sleep(for: .seconds(2))
                return bytes
            },
            "Metadata": .immediate { _, context throws(GRPCStatus) in
                Array((context.metadata[text: "authorization"] ?? "none").utf8)
            },
        ]
    }
}

/// Our client against our server, over real loopback sockets.
@Suite struct GRPCClientConnectionTests {
    private static let group = MultiThreadedEventLoopGroup.singleton
    private let logger = Logger(label: "test")

    private func withServer(_ body: (GRPCServer, Int) async throws -> Void) async throws {
        let server = GRPCServer(configuration: GRPCServerConfiguration(tcp: ("127.0.0.1", 0)),
                                router: GRPCRouter(services: [EchoService()]), group: Self.group, logger: logger)
        try await server.start()
        do {
            try await body(server, server.tcpPort!)
        } catch {
            await server.shutdown(grace: .milliseconds(100))
            throw error
        }
        await server.shutdown(grace: .milliseconds(100))
    }

    private func connect(_ port: Int) async throws -> GRPCClientConnection {
        try await GRPCClientConnection.connect(host: "127.0.0.1", port: port, group: Self.group, logger: logger)
    }

    @Test func unaryCallReturnsTheResponseMessage() async throws {
        try await withServer { _, port in
            let connection = try await connect(port)
            let response = try await connection.unary(path: "/test.Echo/Echo", request: [1, 2, 3],
                                                      deadline: .after(.seconds(5)))
            #expect(response.status.code == .ok)
            #expect(response.message == [1, 2, 3])
            #expect(connection.activeCalls == 0)
            await connection.close()
        }
    }

    @Test func errorStatusAndDecodedMessageComeBackAsAResponse() async throws {
        try await withServer { _, port in
            let connection = try await connect(port)
            let response = try await connection.unary(path: "/test.Echo/Fail", request: [], deadline: .after(.seconds(5)))
            #expect(response.status == GRPCStatus(.notFound, "no such thing: ü"))
            #expect(response.message == nil)
            let unknown = try await connection.unary(path: "/test.Echo/Nope", request: [], deadline: .after(.seconds(5)))
            #expect(unknown.status.code == .unimplemented)
            await connection.close()
        }
    }

    @Test func metadataIsSent() async throws {
        try await withServer { _, port in
            let connection = try await connect(port)
            let response = try await connection.unary(path: "/test.Echo/Metadata", request: [],
                                                      metadata: [("authorization", "Bearer k")], deadline: .after(.seconds(5)))
            #expect(response.message == Array("Bearer k".utf8))
            await connection.close()
        }
    }

    @Test func deadlineIsSentAndEnforcedByBothSides() async throws {
        try await withServer { _, port in
            let connection = try await connect(port)
            let started = ContinuousClock.now
            // Both sides time the same 100 ms: the client's own timer usually ends the call, but the
            // server's DEADLINE_EXCEEDED answer may arrive first on a busy machine. Either is the
            // deadline enforced; any other outcome is not.
            let outcome: GRPCStatus.Code
            do {
                outcome = try await connection.unary(path: "/test.Echo/Slow", request: [], deadline: .after(.milliseconds(100))).status.code
            } catch GRPCCallError.deadlineExceeded {
                outcome = .deadlineExceeded
            }
            #expect(outcome == .deadlineExceeded)
            // The slow handler takes seconds; ending well before it proves the deadline cut the call
            // (a loose bound: this checks behaviour, not speed, on a busy 2-core machine).
            #expect(started.duration(to: .now) < .seconds(1))
            let fine = try await connection.unary(path: "/test.Echo/Slow", request: [7], deadline: .after(.seconds(10)))
            #expect(fine.message == [7])
            await connection.close()
        }
    }

    @Test func largeMessagesCrossBothWays() async throws {
        try await withServer { _, port in
            let connection = try await connect(port)
            let payload = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let response = try await connection.unary(path: "/test.Echo/Echo", request: payload, deadline: .after(.seconds(10)))
            #expect(response.message == payload)
            await connection.close()
        }
    }

    @Test func manyConcurrentCallsShareOneConnection() async throws {
        try await withServer { _, port in
            let connection = try await connect(port)
            let results = try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
                for index in 0..<300 {
                    group.addTask {
                        try await connection.unary(path: "/test.Echo/Echo", request: [UInt8(index % 256)],
                                                   deadline: .after(.seconds(10))).message
                    }
                }
                var all: [[UInt8]?] = []
                for try await result in group { all.append(result) }
                return all
            }
            #expect(results.count == 300)
            #expect(results.allSatisfy { $0?.count == 1 })
            await connection.close()
        }
    }

    @Test func aCancelledCallResetsItsStreamAndFailsAtOnce() async throws {
        try await withServer { _, port in
            let connection = try await connect(port)
            let call = Task { try await connection.unary(path: "/test.Echo/Slow", request: [1], deadline: .after(.seconds(10))) }
            try await Task.sleep(for: .milliseconds(100))
            let started = ContinuousClock.now
            call.cancel()
            await #expect(throws: GRPCCallError.cancelled) { try await call.value }
            #expect(started.duration(to: .now) < .seconds(1))
            #expect(connection.activeCalls == 0)
            // The connection carries on.
            let response = try await connection.unary(path: "/test.Echo/Echo", request: [7], deadline: .after(.seconds(5)))
            #expect(response.message == [7])
            await connection.close()
        }
    }

    @Test func connectionRefusedIsNotProcessed() async throws {
        let port: Int = try await {
            let server = GRPCServer(configuration: GRPCServerConfiguration(tcp: ("127.0.0.1", 0)),
                                    router: GRPCRouter(), group: Self.group, logger: logger)
            try await server.start()
            let port = server.tcpPort!
            await server.shutdown(grace: .zero)
            return port
        }()
        await #expect {
            _ = try await connect(port)
        } throws: { error in
            if case .notProcessed = error as? GRPCCallError { return true }
            return false
        }
    }

    @Test func serverShutdownMakesTheConnectionUnusable() async throws {
        let server = GRPCServer(configuration: GRPCServerConfiguration(tcp: ("127.0.0.1", 0)),
                                router: GRPCRouter(services: [EchoService()]), group: Self.group, logger: logger)
        try await server.start()
        let connection = try await connect(server.tcpPort!)
        #expect(try await connection.unary(path: "/test.Echo/Echo", request: [1], deadline: .after(.seconds(5))).status.code == .ok)
        #expect(connection.isUsable)
        await server.shutdown(grace: .seconds(1))
        for _ in 0..<100 where connection.isUsable { try await Task.sleep(for: .milliseconds(10)) }
        #expect(!connection.isUsable)
        await #expect(throws: GRPCCallError.self) {
            _ = try await connection.unary(path: "/test.Echo/Echo", request: [1], deadline: .after(.seconds(1)))
        }
    }
}
