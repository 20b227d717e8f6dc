import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing
import VDBMUtils
@testable import GRPCNGHTTP2

/// A peer that behaves like Milvus 2.3.5 before a connection's first request: it sends its
/// SETTINGS frame and then nothing at all (no SETTINGS ACK, no PING ACK), and counts the bytes it
/// is sent.
private final class SilentPeer: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let received = Atomic<Int>(0)

    func channelActive(context: ChannelHandlerContext) {
        // An empty SETTINGS frame: length 0, type 4, flags 0, stream 0.
        let settings = context.channel.allocator.buffer(bytes: [0, 0, 0, 4, 0, 0, 0, 0, 0])
        context.writeAndFlush(wrapOutboundOut(settings), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received.wrappingAdd(unwrapInboundIn(data).readableBytes, ordering: .relaxed)
    }
}

@Suite struct KeepaliveTests {
    private static let group = MultiThreadedEventLoopGroup.singleton

    @Test func aConnectionThatNeverCarriedACallIsNotClosedForUnansweredPings() async throws {
        let peer = SilentPeer()
        let server = try await ServerBootstrap(group: Self.group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(peer) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let configuration = GRPCClientConfiguration(keepaliveInterval: .milliseconds(50), keepaliveTimeout: .milliseconds(50))
        let connection = try await GRPCClientConnection.connect(host: "127.0.0.1", port: server.localAddress!.port!,
                                                                configuration: configuration, group: Self.group,
                                                                logger: Logger(label: "test"))
        // Ten keepalive intervals: with PINGs sent and unanswered, the connection would be closed
        // after the first interval plus the timeout.
        try await Task.sleep(for: .milliseconds(500))
        #expect(connection.isUsable)
        // Only the preface and SETTINGS went out (24 + 9 + 6 per setting): no 17-byte PING frames.
        let sent = peer.received.load(ordering: .relaxed)
        #expect(sent > 0 && sent < 24 + 9 + 6 * 8)
        await connection.close()
        try await server.close()
    }
}

/// A TCP proxy that can freeze: from then on it passes no byte either way, like a server process
/// stopped with SIGSTOP (its kernel keeps the connection open).
private final class FreezableProxy: Sendable {
    let frozen = Atomic<Bool>(false)

    private final class Forwarder: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let peer: any Channel
        let proxy: FreezableProxy

        init(peer: any Channel, proxy: FreezableProxy) {
            self.peer = peer
            self.proxy = proxy
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard !proxy.frozen.load(ordering: .relaxed) else { return }
            peer.writeAndFlush(unwrapInboundIn(data), promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            peer.close(promise: nil)
        }
    }

    func start(to port: Int, group: any EventLoopGroup) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .childChannelInitializer { inbound in
                ClientBootstrap(group: inbound.eventLoop)
                    .channelInitializer { outbound in
                        outbound.eventLoop.makeCompletedFuture {
                            try outbound.pipeline.syncOperations.addHandler(Forwarder(peer: inbound, proxy: self))
                        }
                    }
                    .connect(host: "127.0.0.1", port: port)
                    .flatMapThrowing { outbound in
                        try inbound.pipeline.syncOperations.addHandler(Forwarder(peer: outbound, proxy: self))
                    }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }
}

private struct SlowService: GRPCService {
    var serviceName: String { "test.Slow" }
    var methods: [MethodDescriptor: MethodHandler] { .init(service: serviceName, handlersByName) }
    var handlersByName: [String: MethodHandler] {
        [
            "Now": .immediate { bytes, _ throws(GRPCStatus) in bytes },
            "Later": .async { bytes, _ in
                try await Task.sleep(for: .milliseconds(1500))
                return bytes
            },
        ]
    }
}

@Suite struct HungServerTests {
    private static let group = MultiThreadedEventLoopGroup.singleton
    private let logger = Logger(label: "test")
    /// PINGs after 100 ms of silence with calls open, 300 ms to answer.
    private let configuration = GRPCClientConfiguration(keepaliveInterval: .seconds(10), busyPingAfter: .milliseconds(100),
                                                        keepaliveTimeout: .milliseconds(300),
                                                        minimumPingSpacing: .milliseconds(200))

    private func withProxiedServer(_ body: (FreezableProxy, GRPCClientConnection) async throws -> Void) async throws {
        let server = GRPCServer(configuration: GRPCServerConfiguration(tcp: ("127.0.0.1", 0)),
                                router: GRPCRouter(services: [SlowService()]), group: Self.group, logger: logger)
        try await server.start()
        let proxy = FreezableProxy()
        let listener = try await proxy.start(to: server.tcpPort!, group: Self.group)
        let connection = try await GRPCClientConnection.connect(host: "127.0.0.1", port: listener.localAddress!.port!,
                                                                configuration: configuration, group: Self.group,
                                                                logger: logger)
        let first = try await connection.unary(path: "/test.Slow/Now", request: [1], deadline: .after(.seconds(5)))
        #expect(first.message == [1])
        do {
            try await body(proxy, connection)
        } catch {
            Issue.record(error)
        }
        await connection.close()
        try await listener.close()
        await server.shutdown(grace: .milliseconds(100))
    }

    @Test func aLongCallOnALiveServerOutlastsTheBusyPings() async throws {
        try await withProxiedServer { _, connection in
            // 1.5 s of silence on the call: PINGs go out and are answered.
            let response = try await connection.unary(path: "/test.Slow/Later", request: [2], deadline: .after(.seconds(5)))
            #expect(response.message == [2])
            #expect(connection.isUsable)
        }
    }

    @Test func aProbeIsAnsweredByALiveServerAndClosesAFrozenOne() async throws {
        try await withProxiedServer { proxy, connection in
            let live = await withCheckedContinuation { done in connection.probe { done.resume(returning: $0) } }
            #expect(live && connection.isUsable && !connection.closedByFailure)
            proxy.frozen.store(true, ordering: .relaxed)
            let started = ContinuousClock.now
            let frozen = await withCheckedContinuation { done in connection.probe { done.resume(returning: $0) } }
            #expect(!frozen && started.duration(to: .now) < .seconds(2))
            #expect(!connection.isUsable && connection.closedByFailure)
        }
    }

    @Test func aFrozenServerFailsTheOpenCallsWithinThePingTimeout() async throws {
        try await withProxiedServer { proxy, connection in
            proxy.frozen.store(true, ordering: .relaxed)
            let started = ContinuousClock.now
            do {
                _ = try await connection.unary(path: "/test.Slow/Now", request: [3], deadline: .after(.seconds(10)))
                Issue.record("a call through a frozen server succeeded")
            } catch {
                // The request left, so it may have been processed: the connection is lost.
                guard case .connectionLost(let reason) = error as? GRPCCallError else {
                    Issue.record("unexpected error \(error)")
                    return
                }
                #expect(reason.contains("PING"))
            }
            // 100 ms of silence, then 300 ms for the ACK: far inside the 10 s deadline.
            #expect(started.duration(to: .now) < .seconds(3))
            #expect(!connection.isUsable && connection.closedByFailure)
        }
    }
}
