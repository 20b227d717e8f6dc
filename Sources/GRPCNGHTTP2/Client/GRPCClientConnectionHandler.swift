import Logging
import NIOCore
import VDBMUtils

/// The client end of one HTTP/2 connection: owns its nghttp2 session and the calls on it. Like
/// any NIO handler it runs only on its channel's event loop; `GRPCClientConnection` hops there.
final class GRPCClientConnectionHandler: ChannelInboundHandler, NGHTTP2SessionDelegate {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let configuration: GRPCClientConfiguration
    private let state: GRPCClientConnection.SharedState
    private let logger: Logger
    private var session: NGHTTP2Session?
    private var context: ChannelHandlerContext?
    private var streams: [Int32: ClientStream] = [:]
    private var goAwayLastStreamID: Int32?
    private var reading = false
    private var flushing = false
    private var flushScheduled = false
    private var keepaliveTimer: Scheduled<Void>?
    private var pingTimeout: Scheduled<Void>?
    /// Whether a response has come back on this connection. Until one has, keepalive PINGs are
    /// not sent: Milvus 2.3.5 answers none on a connection that has carried no call (its port
    /// multiplexer holds the connection until a request's headers arrive), so an unanswered PING
    /// there proves nothing.
    private var hasAnswered = false

    init(configuration: GRPCClientConfiguration, state: GRPCClientConnection.SharedState, logger: Logger) {
        self.configuration = configuration
        self.state = state
        self.logger = logger
    }

    // MARK: Calls (on the event loop)

    /// Starts one unary call; `promise` completes with the response or fails with a `GRPCCallError`.
    func startCall(path: String, metadata: [(String, String)], request: [UInt8], deadline: Deadline,
                   promise: EventLoopPromise<GRPCClientResponse>) {
        guard let session, let context, goAwayLastStreamID == nil else {
            promise.fail(GRPCCallError.notProcessed("connection is closing"))
            return
        }
        let remaining = deadline.remaining()
        guard remaining > .zero else {
            promise.fail(GRPCCallError.deadlineExceeded)
            return
        }
        var headers = HeaderFields([(":method", "POST"), (":scheme", "http"), (":path", path),
                                    (":authority", configuration.authority), ("content-type", "application/grpc"),
                                    ("te", "trailers"), ("grpc-timeout", GRPCTimeout.encode(remaining))])
        for (name, value) in metadata { headers.add(name, value) }
        guard let streamID = session.submitRequest(headers: headers, message: request) else {
            promise.fail(GRPCCallError.notProcessed("nghttp2 refused to open a stream"))
            return
        }
        let stream = ClientStream(promise: promise, maxResponseBytes: configuration.maxResponseBytes)
        streams[streamID] = stream
        state.callStarted()
        stream.timer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(clamping: remaining)) { [self] in
            guard let stream = streams[streamID] else { return }
            stream.failure = .deadlineExceeded
            session.submitReset(streamID: streamID, errorCode: NGHTTP2Session.cancelErrorCode)
            flush()
        }
        flushSoon()
    }

    /// Resets the stream of the call whose promise's future is `call` (its task was cancelled);
    /// the call fails with `cancelled` once the stream has closed.
    func cancelCall(_ call: EventLoopFuture<GRPCClientResponse>) {
        guard let session, let (streamID, stream) = streams.first(where: { $0.value.promise.futureResult === call }),
              stream.failure == nil else { return }
        stream.failure = .cancelled
        session.submitReset(streamID: streamID, errorCode: NGHTTP2Session.cancelErrorCode)
        flush()
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let session = NGHTTP2Session(role: .client, settings: configuration.http2)
        session.delegate = self
        self.session = session
        if context.channel.isActive { activate() }
    }

    func channelActive(context: ChannelHandlerContext) {
        activate()
        context.fireChannelActive()
    }

    private func activate() {
        flush()  // the connection preface and our SETTINGS
        scheduleKeepalive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        failAll(.connectionLost("connection closed"))
        session?.delegate = nil
        session = nil
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.markClosed()
        keepaliveTimer?.cancel()
        pingTimeout?.cancel()
        failAll(.connectionLost("connection closed"))
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
            logger.warning("closing Milvus connection after an HTTP/2 protocol error", metadata: ["error": "\(error)"])
            failAll(.connectionLost("HTTP/2 protocol error: \(error)"))
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        reading = false
        flush()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { flush() }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.debug("Milvus connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    // MARK: nghttp2 events

    func streamDidBegin(_ streamID: Int32) {}

    func stream(_ streamID: Int32, didReceiveHeader name: UnsafeBufferPointer<UInt8>,
                value: UnsafeBufferPointer<UInt8>, isTrailers: Bool) {
        guard let stream = streams[streamID] else { return }
        let key = String(decoding: name, as: UTF8.self)
        let text = String(decoding: value, as: UTF8.self)
        if isTrailers { stream.trailers[key] = text } else { stream.responseHeaders[key] = text }
    }

    func streamDidEndHeaders(_ streamID: Int32, isTrailers: Bool, endStream: Bool) {}

    func stream(_ streamID: Int32, didReceiveData data: UnsafeRawBufferPointer) {
        guard let stream = streams[streamID], stream.failure == nil else { return }
        var extra = false
        do {
            try stream.deframer.feed(data) { message throws(MessageDeframer.Failure) in
                if stream.message == nil { stream.message = message } else { extra = true }
            }
        } catch {
            stream.failure = .malformedResponse("\(error.status.message)")
            session?.submitReset(streamID: streamID, errorCode: NGHTTP2Session.cancelErrorCode)
            return
        }
        if extra {
            stream.failure = .malformedResponse("more than one message in a unary response")
            session?.submitReset(streamID: streamID, errorCode: NGHTTP2Session.cancelErrorCode)
        }
    }

    func streamDidEndData(_ streamID: Int32) {}

    func streamDidSendHeaders(_ streamID: Int32) {
        streams[streamID]?.headersSent = true
    }

    func streamDidClose(_ streamID: Int32, errorCode: UInt32) {
        guard let stream = streams.removeValue(forKey: streamID) else { return }
        stream.timer?.cancel()
        state.callFinished()
        if !stream.responseHeaders.isEmpty { hasAnswered = true }
        let refused = goAwayLastStreamID.map { streamID > $0 } ?? false
        switch stream.outcome(errorCode: errorCode, refusedByGoAway: refused) {
        case .success(let response): stream.promise.succeed(response)
        case .failure(let error): stream.promise.fail(error)
        }
    }

    func sessionDidReceiveGoAway(lastStreamID: Int32, errorCode: UInt32) {
        goAwayLastStreamID = lastStreamID
        state.markDraining()
        logger.info("Milvus sent GOAWAY", metadata: ["last_stream_id": "\(lastStreamID)", "error_code": "\(errorCode)"])
    }

    func sessionDidReceivePingAck() {
        pingTimeout?.cancel()
        pingTimeout = nil
    }

    // MARK: Output, keepalive, failure

    /// Requests started together (several calls in one event-loop tick under load) leave in one
    /// write: the flush runs after the tasks already queued. During a read, channelReadComplete
    /// flushes anyway.
    private func flushSoon() {
        guard !reading, !flushScheduled, let context else { return }
        flushScheduled = true
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            bound.value.flushScheduled = false
            bound.value.flush()
        }
    }

    private func flush() {
        guard !reading, !flushing, let context, let session, context.channel.isWritable else { return }
        flushing = true
        defer { flushing = false }
        var buffer = context.channel.allocator.buffer(capacity: 1024)
        do {
            try session.drainOutbound(into: &buffer)
        } catch {
            failAll(.connectionLost("nghttp2 could not send: \(error)"))
            context.close(promise: nil)
            return
        }
        if buffer.readableBytes > 0 { context.writeAndFlush(wrapOutboundOut(buffer), promise: nil) }
        if !session.wantsRead && !session.wantsWrite { context.close(promise: nil) }
    }

    private func scheduleKeepalive() {
        guard let context, keepaliveTimer == nil else { return }
        let loop = context.eventLoop.assumeIsolated()
        keepaliveTimer = loop.scheduleTask(in: TimeAmount(clamping: configuration.keepaliveInterval)) { [self] in
            keepaliveTimer = nil
            guard let session, let context = self.context else { return }
            guard hasAnswered else {
                scheduleKeepalive()
                return
            }
            pingTimeout?.cancel()
            session.submitPing()
            flush()
            pingTimeout = context.eventLoop.assumeIsolated().scheduleTask(
                in: TimeAmount(clamping: configuration.keepaliveTimeout)
            ) { [self] in
                logger.warning("Milvus connection did not answer a PING in time: closing it")
                failAll(.connectionLost("keepalive PING not answered"))
                self.context?.close(promise: nil)
            }
            scheduleKeepalive()
        }
    }

    /// Fails every call still open: those whose request never left were not processed.
    private func failAll(_ error: GRPCCallError) {
        let open = streams
        streams = [:]
        for (_, stream) in open {
            stream.timer?.cancel()
            state.callFinished()
            stream.promise.fail(stream.headersSent ? (stream.failure ?? error) : .notProcessed("request never sent"))
        }
    }
}
