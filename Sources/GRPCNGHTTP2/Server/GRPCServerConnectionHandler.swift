import Logging
import NIOCore
import VDBMUtils

/// Sent into a connection's pipeline to start its graceful shutdown: GOAWAY, let the calls in
/// flight finish, then close.
public struct GRPCServerQuiesceEvent: Sendable {
    public init() {}
}

/// One HTTP/2 connection of the gRPC server: owns its nghttp2 session and the state of every
/// call on it. Like any NIO handler it runs only on its channel's event loop; handler tasks that
/// leave the loop come back to it through `eventLoop.execute`.
final class GRPCServerConnectionHandler: ChannelInboundHandler, NGHTTP2SessionDelegate, StreamingCallEndpoint {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let router: GRPCRouter
    let limits: GRPCServerLimits
    let budget: RequestMemoryBudget
    let logger: Logger
    let observers: [any CallObserver]
    /// Where sampled calls' server spans go; `nil`: tracing is off.
    let spanRecorder: SpanRecorder?
    let connectionTag: String

    var session: NGHTTP2Session?
    var context: ChannelHandlerContext?
    var eventLoop: (any EventLoop)?
    var streams: [Int32: ServerStream] = [:]
    /// The stream of the last lookup: nghttp2 calls back several times in a row for one stream,
    /// and this spares a hash lookup for most of those calls.
    private var recentStream: (id: Int32, stream: ServerStream)?
    private var recentRoute: (path: String, handler: MethodHandler, index: Int)?
    var peer = "unknown"
    /// Where `.async` handlers run: this connection's event loop (made on first use).
    var taskExecutor: EventLoopTaskExecutor?
    // Output scheduling (not the connection's life, which `connection` holds):
    /// True while nghttp2 parses a read: responses wait for `channelReadComplete` to leave in one write.
    private var reading = false
    /// Guards against re-entering nghttp2's send from one of its own callbacks.
    private var flushing = false
    private var flushScheduled = false
    /// Streams whose headers arrived during the current read. Their deadline timers are armed
    /// when the read is done, and only for those still unanswered: a call answered within the
    /// read that brought it never pays for a timer.
    private var streamsAwaitingTimer: [Int32] = []
    /// The connection's life: idle timeout, maximum age, preface timeout, keepalive enforcement
    /// and the two-step GOAWAY (`ServerConnectionStateMachine`); this handler performs its actions.
    var connection: ServerConnectionStateMachine
    var lifetimeStarted = false
    var lifetimeTimer: Scheduled<Void>?
    /// Streaming calls whose handler waits in `write` until the client reads (checked after each flush).
    var streamsWaitingToWrite: [Int32] = []
    /// A streaming handler's `write` waits while more than this is queued for its client.
    static let maxQueuedResponseBytes = 256 * 1024

    init(router: GRPCRouter, limits: GRPCServerLimits, budget: RequestMemoryBudget, logger: Logger, observers: [any CallObserver],
         spanRecorder: SpanRecorder? = nil, connectionTag: String) {
        self.spanRecorder = spanRecorder
        self.router = router
        self.limits = limits
        self.budget = budget
        self.logger = logger
        self.observers = observers
        self.connection = Self.stateMachine(limits, openedAt: .now())
        self.connectionTag = connectionTag
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.eventLoop = context.eventLoop
        // Manual flow control: a streaming call's client is held back until its handler reads.
        let session = NGHTTP2Session(role: .server, settings: limits.http2, manualFlowControl: true)
        session.delegate = self
        self.session = session
        if let address = context.channel.remoteAddress, let ip = address.ipAddress, let port = address.port {
            peer = address.protocol == .inet6 ? "[\(ip)]:\(port)" : "\(ip):\(port)"
        } else {
            peer = "unix"
        }
        if context.channel.isActive {
            flush()
            startLifetime()
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        lifetimeTimer?.cancel()
        cancelAllStreams()
        session?.delegate = nil
        session = nil
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        flush()  // our SETTINGS
        startLifetime()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        lifetimeTimer?.cancel()
        cancelAllStreams()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let session else { return }
        let buffer = unwrapInboundIn(data)
        reading = true
        do {
            try buffer.withUnsafeReadableBytes { try session.receive($0) }
        } catch {
            reading = false
            logger.debug("closing connection after an HTTP/2 protocol error",
                          metadata: ["peer": "\(peer)", "error": "\(error)"])
            flush()  // nghttp2 may have queued a GOAWAY that explains the error
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        reading = false
        armPendingTimers()
        flush()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { flush() }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is GRPCServerQuiesceEvent {
            beginGracefulShutdown()
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.debug("connection error", metadata: ["peer": "\(peer)", "error": "\(error)"])
        context.close(promise: nil)
    }

    // MARK: nghttp2 events

    func streamDidBegin(_ streamID: Int32) {
        connection.streamOpened()
        let stream = ServerStream(maxMessageBytes: limits.maxMessageBytes, startedAt: .now)
        streams[streamID] = stream
        recentStream = (streamID, stream)
    }

    func stream(_ streamID: Int32, didReceiveHeader name: UnsafeBufferPointer<UInt8>,
                value: UnsafeBufferPointer<UInt8>, isTrailers: Bool) {
        // Client trailers mean nothing to a gRPC server; only the first header block is kept.
        guard !isTrailers, let stream = stream(streamID) else { return }
        stream.headers.add(name: name, value: value, limit: Int(limits.http2.maxHeaderListSize))
    }

    func streamDidEndHeaders(_ streamID: Int32, isTrailers: Bool, endStream: Bool) {
        guard let stream = stream(streamID) else { return }
        if !isTrailers { acceptHeaders(streamID, stream) }
        if endStream { finishRequest(streamID, stream) }
    }

    func stream(_ streamID: Int32, didReceiveData data: UnsafeRawBufferPointer) {
        guard let stream = stream(streamID) else { return consume(streamID, data.count) }
        switch stream.machine.dataReceived() {
        case .discard:
            return consume(streamID, data.count)
        case .streaming:
            guard let streaming = stream.streaming else { return consume(streamID, data.count) }
            return receiveStreaming(streamID, stream, streaming, data)
        case .unary:
            consume(streamID, data.count)
        }
        guard budget.reserve(data.count) else {
            respond(streamID, stream, .failure(GRPCStatus(
                .resourceExhausted, "the server holds too many request bytes at once; retry later")))
            return
        }
        stream.reservedBytes += data.count
        var extraMessage = false
        do {
            try stream.deframer.feed(data) { message throws(MessageDeframer.Failure) in
                if stream.message == nil { stream.message = message } else { extraMessage = true }
            }
        } catch {
            respond(streamID, stream, .failure(error.status))
            return
        }
        if extraMessage {
            respond(streamID, stream, .failure(GRPCStatus(.internal, "unary call received more than one request message")))
        }
    }

    private func consume(_ streamID: Int32, _ bytes: Int) {
        session?.consume(streamID: streamID, bytes: bytes)
    }

    func streamDidEndData(_ streamID: Int32) {
        guard let stream = stream(streamID) else { return }
        finishRequest(streamID, stream)
    }

    func streamDidClose(_ streamID: Int32, errorCode: UInt32) {
        if recentStream?.id == streamID { recentStream = nil }
        guard let stream = streams.removeValue(forKey: streamID) else { return }
        if stream.machine.closed() {
            // The client reset the stream (or the connection is going away) before our answer.
            report(streamID, stream, code: .cancelled)
        }
        stream.cancelWork()
        releaseBudget(stream, streamID: streamID)
        connection.streamClosed(at: .now())
        // No flush here: this runs inside nghttp2's send or receive; the flush that follows both
        // closes the connection once a graceful shutdown has no streams left.
    }

    // MARK: Request handling

    func stream(_ streamID: Int32) -> ServerStream? {
        if let recent = recentStream, recent.id == streamID { return recent.stream }
        guard let stream = streams[streamID] else { return nil }
        recentStream = (streamID, stream)
        return stream
    }

    private func acceptHeaders(_ streamID: Int32, _ stream: ServerStream) {
        switch stream.headers.validate() {
        case .httpError(let status):
            respondHTTPError(streamID, stream, status: status)
        case .grpcError(let status):
            respond(streamID, stream, .failure(status))
        case .unsupportedEncoding(let encoding):
            respond(streamID, stream, .failure(GRPCStatus(.unimplemented, "grpc-encoding \(encoding) is not supported")),
                    extraHeaders: [("grpc-accept-encoding", "identity")])
        case .valid:
            switch route(stream.headers.path ?? "") {
            case .failure(let status):
                respond(streamID, stream, .failure(status))
            case .success(let found):
                stream.handler = found.handler
                stream.methodIndex = found.index
                let method = stream.headers.path ?? ""
                for observer in observers { observer.callStarted(method: method, index: found.index) }
                let timeout = stream.headers.timeout.flatMap { GRPCTimeout.parse($0) } ?? limits.defaultTimeout
                stream.deadline = Deadline.after(timeout, from: stream.startedAt)
                if reading {
                    streamsAwaitingTimer.append(streamID)
                } else {
                    armTimer(streamID, stream)
                }
                if case .streaming(let body) = found.handler { startStreaming(streamID, stream, body) }
            }
        }
    }

    /// The router's answer, remembered for the last path: clients tend to call one method many
    /// times in a row, and comparing two strings is cheaper than hashing one.
    private func route(_ path: String) -> Result<(handler: MethodHandler, index: Int), GRPCStatus> {
        if let recent = recentRoute, recent.path == path { return .success((recent.handler, recent.index)) }
        let result = router.resolve(path)
        if case .success(let found) = result { recentRoute = (path, found.handler, found.index) }
        return result
    }

    private func armPendingTimers() {
        for streamID in streamsAwaitingTimer {
            if let stream = stream(streamID), !stream.machine.hasEnded { armTimer(streamID, stream) }
        }
        streamsAwaitingTimer.removeAll(keepingCapacity: true)
    }

    /// Answers `DEADLINE_EXCEEDED` when the call's deadline passes first (and cancels its task).
    private func armTimer(_ streamID: Int32, _ stream: ServerStream) {
        guard let context, let deadline = stream.deadline, stream.timer == nil else { return }
        let delay = TimeAmount(clamping: deadline.remaining())
        stream.timer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            guard let current = self.stream(streamID), current === stream, !current.machine.hasEnded else { return }
            current.timer = nil
            respond(streamID, current, .failure(GRPCStatus(.deadlineExceeded, "deadline exceeded")))
        }
    }

    /// The client finished sending: check that exactly one message came, then run the handler.
    private func finishRequest(_ streamID: Int32, _ stream: ServerStream) {
        switch stream.machine.requestDidEnd() {
        case .none: return
        case .endReads: return endReads(streamID, stream)
        case .runUnary: break
        }
        if stream.deframer.hasPartialMessage {
            return respond(streamID, stream, .failure(GRPCStatus(.internal, "request ended inside a message")))
        }
        guard let message = stream.message, let handler = stream.handler, let deadline = stream.deadline else {
            return respond(streamID, stream, .failure(GRPCStatus(.internal, "unary call received no request message")))
        }
        if deadline.hasPassed() {
            return respond(streamID, stream,
                           .failure(GRPCStatus(.deadlineExceeded, "deadline exceeded before the call started")))
        }
        stream.message = nil
        stream.requestBytes = message.count
        let callContext = makeCallContext(streamID, stream, deadline: deadline)
        switch handler {
        case .immediate(let body):
            do throws(GRPCStatus) {
                respond(streamID, stream, .success(try body(message, callContext)))
            } catch {
                respond(streamID, stream, .failure(error))
            }
        case .async(let body):
            guard let eventLoop = context?.eventLoop else { return }
            stream.machine.handlerDispatched()
            if !reading { armTimer(streamID, stream) }
            let bound = NIOLoopBound(self, eventLoop: eventLoop)
            let executor = taskExecutor ?? EventLoopTaskExecutor(eventLoop)
            taskExecutor = executor
            let trace = traceContext(streamID, stream)
            stream.task = Task(executorPreference: executor) {
                let result: Result<[UInt8], GRPCStatus>
                do {
                    // Whatever the handler calls (Milvus, logs) finds the call's trace here.
                    result = .success(try await TraceContext.$current.withValue(trace) {
                        try await body(message, callContext)
                    })
                } catch let error as any GRPCStatusConvertible {
                    result = .failure(error.grpcStatus)
                } catch is CancellationError {
                    result = .failure(GRPCStatus(.cancelled, "call cancelled"))
                } catch {
                    callContext.logger.error("handler failed", metadata: ["error": "\(error)"])
                    result = .failure(GRPCStatus(.internal, "internal error"))
                }
                // Usually already on the loop (the task prefers it as its executor).
                if eventLoop.inEventLoop {
                    bound.value.handlerDidFinish(streamID, result)
                } else {
                    eventLoop.execute { bound.value.handlerDidFinish(streamID, result) }
                }
            }
        case .streaming:
            break  // started with the headers
        }
    }

    func makeCallContext(_ streamID: Int32, _ stream: ServerStream, deadline: Deadline) -> ServerCallContext {
        ServerCallContext(
            path: stream.headers.path ?? "", metadata: stream.headers.metadata, deadline: deadline, peer: peer,
            clientRequestID: stream.headers.requestID, connectionTag: connectionTag, streamID: streamID,
            logger: logger)
    }

    private func handlerDidFinish(_ streamID: Int32, _ result: Result<[UInt8], GRPCStatus>) {
        // Answered already (deadline) or gone (reset, connection closed): nothing to do.
        guard let stream = stream(streamID), stream.machine.handlerFinished() else { return }
        stream.task = nil
        respond(streamID, stream, result)
    }

    // MARK: Output and shutdown

    /// Answers that complete together (several handler tasks finishing in one event-loop tick
    /// under load) leave in one write: the flush runs after the tasks already queued. During a
    /// read, channelReadComplete flushes anyway.
    func flushSoon() {
        guard !reading, !flushScheduled, let context else { return }
        flushScheduled = true
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            bound.value.flushScheduled = false
            bound.value.flush()
        }
    }

    /// Sends what nghttp2 has queued, unless a read is being parsed (it will flush when done) or
    /// the socket is full (it will flush when writable again; until then nghttp2 holds the frames
    /// and its stream limit bounds what can pile up).
    func flush() {
        guard !reading, !flushing, let context, let session, context.channel.isWritable else { return }
        flushing = true
        defer { flushing = false }
        var buffer = context.channel.allocator.buffer(capacity: 4096)
        do {
            try session.drainOutbound(into: &buffer)
        } catch {
            logger.debug("closing connection: nghttp2 could not send", metadata: ["error": "\(error)"])
            context.close(promise: nil)
            return
        }
        if buffer.readableBytes > 0 {
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        }
        if !streamsWaitingToWrite.isEmpty { resumeWriters(session) }
        if !session.wantsRead && !session.wantsWrite || connection.shouldClose {
            context.close(promise: nil)
        }
    }

    private func cancelAllStreams() {
        for streamID in Array(streams.keys) {
            recentStream = nil
            guard let stream = streams.removeValue(forKey: streamID) else { continue }
            if stream.machine.closed() { report(streamID, stream, code: .cancelled) }
            stream.cancelWork()
            releaseBudget(stream, streamID: streamID)
        }
    }
}
