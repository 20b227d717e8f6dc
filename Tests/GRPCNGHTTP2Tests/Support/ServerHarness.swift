import Logging
import NIOCore
import NIOEmbedded
@testable import GRPCNGHTTP2
import VDBMUtils

/// Drives the real server handler with a real nghttp2 client session, in memory.
class ServerHarness {
    let channel: NIOAsyncTestingChannel
    let client = TestHTTP2Client()
    let budget: RequestMemoryBudget
    /// Server output not yet given to the client (see `exchange(clientReads:)`).
    private var heldForClient: [ByteBuffer] = []

    init(services: [any GRPCService], limits: GRPCServerLimits = GRPCServerLimits(),
         observers: [any CallObserver] = [], spanRecorder: SpanRecorder? = nil) async throws {
        let router = GRPCRouter(services: services)
        let budget = RequestMemoryBudget(limit: limits.maxBufferedRequestBytes)
        self.budget = budget
        channel = try await NIOAsyncTestingChannel { channel in
            try channel.pipeline.syncOperations.addHandler(GRPCServerConnectionHandler(
                router: router, limits: limits, budget: budget, logger: Logger(label: "test"), observers: observers,
                spanRecorder: spanRecorder, connectionTag: "t"))
        }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).get()
        try await exchange()
    }

    /// Moves bytes both ways until neither side has anything more to say. With `clientReads`
    /// false the server's output is held back, as from a client that stopped reading: the
    /// client then sends no WINDOW_UPDATE either.
    func exchange(clientReads: Bool = true) async throws {
        if clientReads {
            for held in heldForClient { try client.receive(held) }
            heldForClient.removeAll()
        }
        for _ in 0..<50 {
            var moved = false
            let out = try client.outbound()
            if out.readableBytes > 0 {
                try await channel.writeInbound(out)
                moved = true
            }
            while let reply = try await channel.readOutbound(as: ByteBuffer.self) {
                if clientReads { try client.receive(reply) } else { heldForClient.append(reply) }
                moved = true
            }
            if !moved { return }
        }
    }

    /// Waits (briefly, in real time) for work that left the event loop to come back.
    func settle(clientReads: Bool = true, until done: () -> Bool) async throws {
        for _ in 0..<200 where !done() {
            try await Task.sleep(for: .milliseconds(5))
            // Handler tasks run on the connection's loop and flushes are deferred to it: let the
            // testing loop run what is queued.
            await channel.testingEventLoop.run()
            try await exchange(clientReads: clientReads)
        }
    }

    func call(_ path: String, _ message: [UInt8]?, headers: [(String, String)] = []) async throws -> TestHTTP2Client.Response {
        let streamID = client.startCall(path: path, message: message, extraHeaders: headers)
        try await exchange()
        try await settle { client.responses[streamID]?.closed == true }
        return client.responses[streamID]!
    }
}
