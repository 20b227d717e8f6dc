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
    private let limits: GRPCServerLimits
    private let budget: RequestMemoryBudget
    private let logger: Logger
    private let observers: [any CallObserver]
    private let connectionTag: String

    private var session: NGHTTP2Session?
    private var context: ChannelHandlerContext?
    private var eventLoop: (any EventLoop)?
    private var streams: [Int32: ServerStream] = [:]
    /// The stream of the last lookup: nghttp2 calls back several times in a row for one stream,
    /// and this spares a hash lookup for most of those calls.
    private var recentStream: (id: Int32, stream: ServerStream)?
    private var recentRoute: (path: String, handler: MethodHandler, index: Int)?
    private var peer = "unknown"
    /// Where `.async` handlers run: this connection's event loop (made on first use).
    private var taskExecutor: EventLoopTaskExecutor?
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
    private var connection: ServerConnectionStateMachine
    private var lifetimeStarted = false
    private var lifetimeTimer: Scheduled<Void>?
    /// Streaming calls whose handler waits in `write` until the client reads (checked after each flush).
    private var streamsWaitingToWrite: [Int32] = []
    /// A streaming handler's `write` waits while more than this is queued for its client.
    static let maxQueuedResponseBytes = 256 * 1024

    init(router: GRPCRouter, limits: GRPCServerLimits, budget: RequestMemoryBudget, logger: Logger, observers: [any CallObserver],
         connectionTag: String) {
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
        guard let stream = stream(streamID), stream.phase != .responded else {
            session?.consume(streamID: streamID, bytes: data.count)
            return
        }
        if let streaming = stream.streaming { return receiveStreaming(streamID, stream, streaming, data) }
        session?.consume(streamID: streamID, bytes: data.count)
        guard stream.phase == .receiving else { return }
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

    func streamDidEndData(_ streamID: Int32) {
        guard let stream = stream(streamID) else { return }
        finishRequest(streamID, stream)
    }

    func streamDidClose(_ streamID: Int32, errorCode: UInt32) {
        if recentStream?.id == streamID { recentStream = nil }
        guard let stream = streams.removeValue(forKey: streamID) else { return }
        if stream.phase != .responded {
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

    private func stream(_ streamID: Int32) -> ServerStream? {
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
            if let stream = stream(streamID), stream.phase != .responded { armTimer(streamID, stream) }
        }
        streamsAwaitingTimer.removeAll(keepingCapacity: true)
    }

    /// Answers `DEADLINE_EXCEEDED` when the call's deadline passes first (and cancels its task).
    private func armTimer(_ streamID: Int32, _ stream: ServerStream) {
        guard let context, let deadline = stream.deadline, stream.timer == nil else { return }
        let delay = TimeAmount(clamping: deadline.remaining())
        stream.timer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            guard let current = self.stream(streamID), current === stream, current.phase != .responded else { return }
            current.timer = nil
            respond(streamID, current, .failure(GRPCStatus(.deadlineExceeded, "deadline exceeded")))
        }
    }

    /// The client finished sending: check that exactly one message came, then run the handler.
    private func finishRequest(_ streamID: Int32, _ stream: ServerStream) {
        if let streaming = stream.streaming { return finishStreamingRequests(streamID, stream, streaming) }
        guard stream.phase == .receiving else { return }
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
            stream.phase = .dispatched
            if !reading { armTimer(streamID, stream) }
            let bound = NIOLoopBound(self, eventLoop: eventLoop)
            let executor = taskExecutor ?? EventLoopTaskExecutor(eventLoop)
            taskExecutor = executor
            let trace = callContext.trace
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

    private func makeCallContext(_ streamID: Int32, _ stream: ServerStream, deadline: Deadline) -> ServerCallContext {
        ServerCallContext(
            path: stream.headers.path ?? "", metadata: stream.headers.metadata, deadline: deadline, peer: peer,
            clientRequestID: stream.headers.requestID, connectionTag: connectionTag, streamID: streamID,
            logger: logger)
    }

    private func handlerDidFinish(_ streamID: Int32, _ result: Result<[UInt8], GRPCStatus>) {
        // Answered already (deadline) or gone (reset, connection closed): nothing to do.
        guard let stream = stream(streamID), stream.phase == .dispatched else { return }
        stream.task = nil
        respond(streamID, stream, result)
    }

    // MARK: Responses

    private static let responseHeaderFields = [(":status", "200"), ("content-type", "application/grpc")]
    private static let successHeaders = StaticHeaderBlock(responseHeaderFields)
    private static let okTrailers = StaticHeaderBlock([("grpc-status", "0")])

    /// Ends a call: a unary call's response message, or (for a streaming call, where `.success`
    /// only means OK) its trailers; a failure as a trailers-only response if no headers left yet.
    private func respond(_ streamID: Int32, _ stream: ServerStream, _ result: Result<[UInt8], GRPCStatus>,
                         extraHeaders: [(String, String)] = []) {
        guard let session, stream.phase != .responded else { return }
        stream.phase = .responded
        stream.cancelWork()
        releaseBudget(stream, streamID: streamID)
        connection.responseSent()
        if let streaming = stream.streaming, streaming.headersSent || (try? result.get()) != nil {
            let failure: GRPCStatus? = if case .failure(let status) = result { status } else { nil }
            endStreamingResponse(streamID, stream, streaming, session, failure: failure)
            flushSoon()
            return
        }
        switch result {
        case .success(let message):
            let headers = StaticHeaderBlockAndField(block: Self.successHeaders, name: "x-request-id",
                                                    value: requestID(streamID, stream))
            session.submitResponse(streamID: streamID, headers: headers, message: message, trailers: Self.okTrailers)
            report(streamID, stream, code: .ok, responseBytes: message.count)
        case .failure(let status):
            var headers = HeaderFields(Self.responseHeaderFields)
            headers.add("x-request-id", requestID(streamID, stream), indexed: false)
            headers.add("grpc-status", String(status.code.rawValue))
            if !status.message.isEmpty {
                headers.add("grpc-message", PercentEncoding.encode(status.message))
            }
            for (name, value) in extraHeaders { headers.add(name, value) }
            session.submitHeadersOnly(streamID: streamID, headers: headers)
            report(streamID, stream, code: status.code, message: status.message)
        }
        flushSoon()
    }

    private func respondHTTPError(_ streamID: Int32, _ stream: ServerStream, status: Int) {
        guard let session, stream.phase == .receiving else { return }
        stream.phase = .responded
        releaseBudget(stream, streamID: streamID)
        var headers = HeaderFields([(":status", String(status))])
        if status == 405 { headers.add("allow", "POST") }
        session.submitHeadersOnly(streamID: streamID, headers: headers)
        report(streamID, stream, code: nil, httpStatus: status)
        flush()
    }

    private func releaseBudget(_ stream: ServerStream, streamID: Int32) {
        budget.release(stream.reservedBytes)
        stream.reservedBytes = 0
        stream.deframer = MessageDeframer(maxMessageBytes: 0)  // drop a partial message's bytes now
        stream.message = nil
        if let streaming = stream.streaming {
            streaming.inbound.removeAll()
            // Held back from the client's window: the connection's share must come back.
            session?.consume(streamID: streamID, bytes: streaming.unconsumedBytes)
            streaming.unconsumedBytes = 0
        }
    }

    private func requestID(_ streamID: Int32, _ stream: ServerStream) -> String {
        if let known = stream.requestID { return known }
        let made = ServerCallContext.requestID(client: stream.headers.requestID,
                                               traceparent: stream.headers.metadata[text: "traceparent"],
                                               connectionTag: connectionTag, streamID: streamID)
        stream.requestID = made
        return made
    }

    /// Tells the observers that the call ended (exactly once per stream: every path that ends a
    /// stream comes here, marked by `reported`).
    private func report(_ streamID: Int32, _ stream: ServerStream, code: GRPCStatus.Code?, message: String = "",
                        httpStatus: Int? = nil, responseBytes: Int = 0) {
        guard !stream.reported else { return }
        stream.reported = true
        guard !observers.isEmpty else { return }
        let record = CallRecord(
            method: stream.headers.path ?? "", methodIndex: stream.methodIndex, status: code, httpStatus: httpStatus,
            message: message, duration: stream.startedAt.duration(to: .now), peer: peer,
            requestID: requestID(streamID, stream), requestBytes: stream.requestBytes, responseBytes: responseBytes)
        for observer in observers { observer.callFinished(record) }
    }

    // MARK: Streaming calls

    /// Starts a streaming handler as soon as its headers are in: it reads the request messages
    /// as they arrive.
    private func startStreaming(
        _ streamID: Int32, _ stream: ServerStream,
        _ body: @escaping @Sendable (RequestMessages, ResponseWriter, ServerCallContext) async throws -> Void
    ) {
        guard let eventLoop, let deadline = stream.deadline, stream.phase == .receiving else { return }
        stream.streaming = StreamingState()
        stream.phase = .dispatched
        let callContext = makeCallContext(streamID, stream, deadline: deadline)
        let endpoint = NIOLoopBound<any StreamingCallEndpoint>(self, eventLoop: eventLoop)
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        let executor = taskExecutor ?? EventLoopTaskExecutor(eventLoop)
        taskExecutor = executor
        let trace = callContext.trace
        stream.task = Task(executorPreference: executor) {
            let failure: GRPCStatus?
            do {
                try await TraceContext.$current.withValue(trace) {
                    try await body(RequestMessages(endpoint: endpoint, streamID: streamID),
                                   ResponseWriter(endpoint: endpoint, streamID: streamID), callContext)
                }
                failure = nil
            } catch let error as any GRPCStatusConvertible {
                failure = error.grpcStatus
            } catch is CancellationError {
                failure = GRPCStatus(.cancelled, "call cancelled")
            } catch {
                callContext.logger.error("handler failed", metadata: ["error": "\(error)"])
                failure = GRPCStatus(.internal, "internal error")
            }
            if eventLoop.inEventLoop {
                bound.value.streamingHandlerDidFinish(streamID, failure)
            } else {
                eventLoop.execute { bound.value.streamingHandlerDidFinish(streamID, failure) }
            }
        }
    }

    private func streamingHandlerDidFinish(_ streamID: Int32, _ failure: GRPCStatus?) {
        guard let stream = stream(streamID), stream.phase == .dispatched else { return }
        stream.task = nil
        stream.streaming?.handlerReturned = true
        respond(streamID, stream, failure.map { .failure($0) } ?? .success([]))
    }

    /// DATA for a streaming call: whole messages go to a waiting reader or the queue. The bytes
    /// are given back to the client's window at once while the handler keeps up, and only when it
    /// has read the queue otherwise: a client never gets more than a window ahead of its handler.
    private func receiveStreaming(_ streamID: Int32, _ stream: ServerStream, _ streaming: StreamingState,
                                  _ data: UnsafeRawBufferPointer) {
        if streaming.inbound.isEmpty {
            session?.consume(streamID: streamID, bytes: data.count)
        } else {
            streaming.unconsumedBytes += data.count
        }
        guard !streaming.halfClosed else { return }
        guard budget.reserve(data.count) else {
            return respond(streamID, stream, .failure(GRPCStatus(
                .resourceExhausted, "the server holds too many request bytes at once; retry later")))
        }
        stream.reservedBytes += data.count
        var messages: [[UInt8]] = []
        do {
            try stream.deframer.feed(data) { message throws(MessageDeframer.Failure) in messages.append(message) }
        } catch {
            return respond(streamID, stream, .failure(error.status))
        }
        for message in messages {
            streaming.messagesReceived += 1
            guard streaming.messagesReceived <= limits.maxMessagesPerStream else {
                return respond(streamID, stream, .failure(GRPCStatus(.resourceExhausted,
                    "more than \(limits.maxMessagesPerStream) request messages on one stream (server.max_messages_per_stream)")))
            }
            stream.requestBytes += message.count
            if let reader = streaming.reader {
                streaming.reader = nil
                releaseDelivered(stream, message)
                reader.succeed(message)
            } else {
                streaming.inbound.append(message)
            }
        }
    }

    /// END_STREAM from the client of a streaming call: reads end after the queued messages.
    private func finishStreamingRequests(_ streamID: Int32, _ stream: ServerStream, _ streaming: StreamingState) {
        guard stream.phase != .responded, !streaming.halfClosed else { return }
        if stream.deframer.hasPartialMessage {
            return respond(streamID, stream, .failure(GRPCStatus(.internal, "request ended inside a message")))
        }
        streaming.halfClosed = true
        if streaming.inbound.isEmpty, let reader = streaming.reader {
            streaming.reader = nil
            reader.succeed(nil)
        }
    }

    /// A message handed to the handler no longer counts against the memory budget.
    private func releaseDelivered(_ stream: ServerStream, _ message: [UInt8]) {
        let bytes = min(stream.reservedBytes, message.count + MessageDeframer.prefixLength)
        budget.release(bytes)
        stream.reservedBytes -= bytes
    }

    func nextRequest(_ streamID: Int32) -> EventLoopFuture<[UInt8]?> {
        guard let eventLoop else { preconditionFailure("a streaming call outlived its connection handler") }
        guard let stream = stream(streamID), stream.phase == .dispatched, let streaming = stream.streaming else {
            return eventLoop.makeFailedFuture(GRPCStatus(.cancelled, "the call has ended"))
        }
        if let message = streaming.inbound.popFirst() {
            releaseDelivered(stream, message)
            if streaming.inbound.isEmpty, streaming.unconsumedBytes > 0 {
                session?.consume(streamID: streamID, bytes: streaming.unconsumedBytes)
                streaming.unconsumedBytes = 0
                flushSoon()  // the WINDOW_UPDATE
            }
            return eventLoop.makeSucceededFuture(message)
        }
        if streaming.halfClosed { return eventLoop.makeSucceededFuture(nil) }
        guard streaming.reader == nil else {
            return eventLoop.makeFailedFuture(GRPCStatus(.internal, "two readers on one request stream"))
        }
        let promise = eventLoop.makePromise(of: [UInt8]?.self)
        streaming.reader = promise
        return promise.futureResult
    }

    func writeResponse(_ streamID: Int32, _ message: [UInt8]) -> EventLoopFuture<Void> {
        guard let eventLoop else { preconditionFailure("a streaming call outlived its connection handler") }
        guard let session, let stream = stream(streamID), stream.phase == .dispatched, let streaming = stream.streaming else {
            return eventLoop.makeFailedFuture(GRPCStatus(.cancelled, "the call has ended"))
        }
        if !streaming.headersSent {
            streaming.headersSent = true
            session.submitStreamingHeaders(streamID: streamID, headers: StaticHeaderBlockAndField(
                block: Self.successHeaders, name: "x-request-id", value: requestID(streamID, stream)))
        }
        session.enqueueMessage(streamID: streamID, message)
        streaming.responseBytes += message.count
        flushSoon()
        guard session.queuedOutboundBytes(streamID: streamID) > Self.maxQueuedResponseBytes else {
            return eventLoop.makeSucceededVoidFuture()
        }
        guard streaming.writer == nil else {
            return eventLoop.makeFailedFuture(GRPCStatus(.internal, "two writers on one response stream"))
        }
        let promise = eventLoop.makePromise(of: Void.self)
        streaming.writer = promise
        streamsWaitingToWrite.append(streamID)
        return promise.futureResult
    }

    /// Lets writers go on once their client has taken most of what was queued.
    private func resumeWriters(_ session: NGHTTP2Session) {
        streamsWaitingToWrite.removeAll { streamID in
            guard let streaming = streams[streamID]?.streaming, let writer = streaming.writer else { return true }
            guard session.queuedOutboundBytes(streamID: streamID) <= Self.maxQueuedResponseBytes / 2 else { return false }
            streaming.writer = nil
            writer.succeed()
            return true
        }
    }

    /// The end of a streaming response: headers first if no message went out, then trailers with
    /// the status. What the handler wrote goes first, unless the transport ends the call
    /// (deadline, a broken request): then the client gets the status without waiting for the rest.
    private func endStreamingResponse(_ streamID: Int32, _ stream: ServerStream, _ streaming: StreamingState,
                                      _ session: NGHTTP2Session, failure: GRPCStatus?) {
        if !streaming.headersSent {
            streaming.headersSent = true
            session.submitStreamingHeaders(streamID: streamID, headers: StaticHeaderBlockAndField(
                block: Self.successHeaders, name: "x-request-id", value: requestID(streamID, stream)))
        }
        if let failure {
            var trailers = HeaderFields([("grpc-status", String(failure.code.rawValue))])
            if !failure.message.isEmpty { trailers.add("grpc-message", PercentEncoding.encode(failure.message)) }
            session.finishStreaming(streamID: streamID, trailers: trailers, discardingQueued: !streaming.handlerReturned)
            report(streamID, stream, code: failure.code, message: failure.message, responseBytes: streaming.responseBytes)
        } else {
            session.finishStreaming(streamID: streamID, trailers: Self.okTrailers, discardingQueued: false)
            report(streamID, stream, code: .ok, responseBytes: streaming.responseBytes)
        }
    }

    // MARK: Output and shutdown

    /// Answers that complete together (several handler tasks finishing in one event-loop tick
    /// under load) leave in one write: the flush runs after the tasks already queued. During a
    /// read, channelReadComplete flushes anyway.
    private func flushSoon() {
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
    private func flush() {
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

    /// Two-step GOAWAY (RFC 9113 §6.8): a notice and a PING first, so requests already on the wire
    /// are not lost; when the PING's ACK comes back (the client has seen the notice, and whatever
    /// it sent before is in), the final GOAWAY with the last stream really processed. A client
    /// that does not answer gets the final GOAWAY after a second.
    private func beginGracefulShutdown() {
        perform(connection.quiesce())
    }

    func sessionDidReceivePingAck() {
        perform(connection.pingAckReceived())
    }

    func sessionDidReceivePing() {
        perform(connection.pingReceived(at: .now()))
    }

    func sessionDidReceiveSettings() {
        connection.prefaceReceived()
    }

    /// Carries out what the connection state machine decided.
    private func perform(_ action: ServerConnectionStateMachine.Action?) {
        guard let action, let context, let session else { return }
        switch action {
        case .sendNoticeAndPing(let reason):
            if reason != "shutdown" {
                logger.debug("connection going away", metadata: ["peer": "\(peer)", "reason": "\(reason)"])
            }
            session.submitShutdownNotice()
            session.submitPing()
            flush()
            context.eventLoop.assumeIsolated().scheduleTask(in: ServerConnectionStateMachine.shutdownFallback) { [self] in
                perform(connection.shutdownFallbackFired())
            }
        case .sendFinalGoAway(let tooManyPings):
            if tooManyPings {
                logger.debug("client PINGs too often while idle: GOAWAY too_many_pings", metadata: ["peer": "\(peer)"])
                session.submitGoAway(errorCode: NGHTTP2Session.enhanceYourCalm, debugData: "too_many_pings")
            } else {
                session.submitGoAway()
            }
            flush()  // (inside a read it waits for channelReadComplete)
        case .close:
            logger.debug("connection closed: no HTTP/2 preface in time, or its maximum age and grace are over",
                         metadata: ["peer": "\(peer)"])
            context.close(promise: nil)
        }
    }

    // MARK: Connection lifetime

    private static func stateMachine(_ limits: GRPCServerLimits, openedAt: NIODeadline) -> ServerConnectionStateMachine {
        ServerConnectionStateMachine(
            lifetime: ConnectionLifetime(idleTimeout: limits.idleTimeout.map { TimeAmount(clamping: $0) },
                                         maxAge: limits.maxConnectionAge.map { TimeAmount(clamping: $0) },
                                         maxAgeGrace: TimeAmount(clamping: limits.maxConnectionAgeGrace),
                                         prefaceTimeout: limits.prefaceTimeout.map { TimeAmount(clamping: $0) }, openedAt: openedAt),
            minimumPingInterval: TimeAmount(clamping: limits.minimumPingInterval))
    }

    /// When the connection becomes active: its lifetime counts from now (nothing has happened on
    /// it yet), and its timer starts if a limit is set.
    private func startLifetime() {
        guard !lifetimeStarted else { return }
        lifetimeStarted = true
        connection = Self.stateMachine(limits, openedAt: .now())
        guard connection.hasLifetimeLimits else { return }
        checkLifetime()
    }

    private func checkLifetime() {
        guard let context else { return }
        let (action, next) = connection.timerFired(at: .now())
        perform(action)
        lifetimeTimer?.cancel()
        lifetimeTimer = nil
        guard action != .close else { return }
        lifetimeTimer = next.map { deadline in
            context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in checkLifetime() }
        }
    }

    private func cancelAllStreams() {
        for streamID in Array(streams.keys) {
            recentStream = nil
            guard let stream = streams.removeValue(forKey: streamID) else { continue }
            if stream.phase != .responded { report(streamID, stream, code: .cancelled) }
            stream.cancelWork()
            releaseBudget(stream, streamID: streamID)
        }
    }
}
