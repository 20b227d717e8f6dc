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
