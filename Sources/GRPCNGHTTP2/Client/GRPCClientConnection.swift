import Logging
import NIOCore
import NIOPosix
import Synchronization
import VDBMUtils

/// One client HTTP/2 connection (h2c, or TLS through `transportSetup`) to a gRPC server, for unary calls. Safe to share: every
/// call hops to the connection's event loop, where its nghttp2 session lives.
public final class GRPCClientConnection: Sendable {
    /// Counters the pool reads from any thread (the lock-free view of the loop-owned state).
    final class SharedState: Sendable {
        private let active = Atomic<Int>(0)
        private let closed = Atomic<Bool>(false)
        private let draining = Atomic<Bool>(false)
        private let failed = Atomic<Bool>(false)
        private let toldToCalmDown = Atomic<Bool>(false)

        func callStarted() { active.wrappingAdd(1, ordering: .relaxed) }
        func callFinished() { active.wrappingSubtract(1, ordering: .relaxed) }
        func markClosed() { closed.store(true, ordering: .relaxed) }
        func markDraining() { draining.store(true, ordering: .relaxed) }
        /// The connection is being closed because it failed (not by either side's choice).
        func markFailed() { failed.store(true, ordering: .relaxed) }
        /// The server sent GOAWAY ENHANCE_YOUR_CALM (what it sends for too many PINGs).
        func markToldToCalmDown() { toldToCalmDown.store(true, ordering: .relaxed) }
        var activeCalls: Int { active.load(ordering: .relaxed) }
        var isClosed: Bool { closed.load(ordering: .relaxed) }
        var isDraining: Bool { draining.load(ordering: .relaxed) }
        var hasFailed: Bool { failed.load(ordering: .relaxed) }
        var wasToldToCalmDown: Bool { toldToCalmDown.load(ordering: .relaxed) }
    }

    private let channel: any Channel
    private let handler: NIOLoopBound<GRPCClientConnectionHandler>
    private let state: SharedState
    /// Where the connection goes, e.g. `127.0.0.1:19530`.
    public let target: String

    private init(channel: any Channel, handler: NIOLoopBound<GRPCClientConnectionHandler>, state: SharedState,
                 target: String) {
        self.channel = channel
        self.handler = handler
        self.state = state
        self.target = target
    }

    /// Connects over TCP. A failure to connect is `notProcessed`: nothing was sent.
    public static func connect(host: String, port: Int, configuration: GRPCClientConfiguration = .init(),
                               group: any EventLoopGroup, logger: Logger) async throws(GRPCCallError) -> GRPCClientConnection {
        let state = SharedState()
        let ready = Mutex<EventLoopFuture<Void>?>(nil)
        let bootstrap = ClientBootstrap(group: group)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connectTimeout(TimeAmount(clamping: configuration.connectTimeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let setup = configuration.transportSetup {
                        let handshake = try setup.setUp(channel, host)
                        ready.withLock { $0 = handshake }
                    }
                    let handler = GRPCClientConnectionHandler(configuration: configuration, state: state, logger: logger)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: host, port: port).get()
        } catch {
            throw .notProcessed("cannot connect to \(host):\(port): \(error)")
        }
        if let handshake = ready.withLock({ $0 }) {
            // No call goes out before the handshake is over, so a refused handshake is "not
            // processed" for certain, and a connection is ready only once it can carry calls.
            let timeout = channel.eventLoop.scheduleTask(in: TimeAmount(clamping: configuration.connectTimeout)) {
                channel.close(promise: nil)
            }
            defer { timeout.cancel() }
            do {
                try await handshake.get()
            } catch {
                try? await channel.close()
                throw .notProcessed("TLS handshake with \(host):\(port) failed: \(error)")
            }
        }
        let handler: NIOLoopBound<GRPCClientConnectionHandler>
        do {
            handler = try await channel.eventLoop.submit {
                NIOLoopBound(try channel.pipeline.syncOperations.handler(type: GRPCClientConnectionHandler.self),
                             eventLoop: channel.eventLoop)
            }.get()
        } catch {
            try? await channel.close()
            throw .notProcessed("connection set-up failed: \(error)")
        }
        return GRPCClientConnection(channel: channel, handler: handler, state: state, target: "\(host):\(port)")
    }

    /// Makes one unary call. A gRPC error status is a normal response (`status.code != .ok`); the
    /// errors thrown are those where no status came back.
    public func unary(path: String, request: [UInt8], metadata: [(String, String)] = [],
                      deadline: Deadline) async throws(GRPCCallError) -> GRPCClientResponse {
        let promise = channel.eventLoop.makePromise(of: GRPCClientResponse.self)
        let handler = self.handler
        if channel.eventLoop.inEventLoop {
            // Already on the connection's loop (a handler task running there): no hop needed.
            handler.value.startCall(path: path, metadata: metadata, request: request, deadline: deadline, promise: promise)
        } else {
            channel.eventLoop.execute {
                handler.value.startCall(path: path, metadata: metadata, request: request, deadline: deadline,
                                        promise: promise)
            }
        }
        do {
            // A cancelled caller resets its stream, so the server stops work nobody waits for.
            return try await withTaskCancellationHandler {
                try await promise.futureResult.get()
            } onCancel: {
                let future = promise.futureResult
                channel.eventLoop.execute { handler.value.cancelCall(future) }
            }
        } catch let error as GRPCCallError {
            throw error
        } catch {
            throw .connectionLost("\(error)")
        }
    }

    /// The loop the connection lives on: a task preferring it (`EventLoopTaskExecutor`) calls
    /// without a thread hop.
    public var eventLoop: any EventLoop { channel.eventLoop }

    /// Whether the caller runs on this connection's event loop (the pool prefers such a connection).
    public var isOnCurrentEventLoop: Bool { channel.eventLoop.inEventLoop }

    /// Calls in flight on this connection (for least-loaded picking).
    public var activeCalls: Int { state.activeCalls }
    /// False once the connection closed, failed or the server sent GOAWAY: new calls belong elsewhere.
    public var isUsable: Bool { !state.isClosed && !state.isDraining && !state.hasFailed && channel.isActive }

    /// Whether the connection was closed because it failed: a PING went unanswered, the server
    /// broke the protocol, or nghttp2 could not send (not a clean close or GOAWAY).
    public var closedByFailure: Bool { state.hasFailed }

    /// Whether the server ended the connection with GOAWAY ENHANCE_YOUR_CALM: gRPC servers send it
    /// ("too_many_pings") when PINGs come more often than they allow, so the next connection to
    /// that server should PING less.
    public var wasToldTooManyPings: Bool { state.wasToldToCalmDown }

    /// PINGs the server now (or joins a PING already out): `answered` is called with true when
    /// the ACK comes, false when the connection closes first (an ACK later than the keepalive
    /// timeout closes it as failed).
    public func probe(_ answered: @escaping @Sendable (Bool) -> Void) {
        let handler = self.handler
        channel.eventLoop.execute { handler.value.probe(answered) }
    }

    /// Calls `callback` once the connection has closed (from any cause).
    public func onClose(_ callback: @escaping @Sendable () -> Void) {
        channel.closeFuture.whenComplete { _ in callback() }
    }

    public func close() async {
        try? await channel.close()
    }
}
