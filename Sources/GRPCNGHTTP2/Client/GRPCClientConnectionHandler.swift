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
    /// When to PING (busy and idle); see `KeepalivePolicy`.
    private var keepalive: KeepalivePolicy
    private var keepaliveTimer: Scheduled<Void>?
    private var keepaliveCheckAt: NIODeadline?
    private var pingTimeout: Scheduled<Void>?
    /// One timer for the deadlines of all calls, armed at the earliest. Calls get their deadline
    /// as now plus a budget, so a new call's is nearly always later than the one armed and it
    /// schedules and cancels nothing (a timer per call cost about 4% of a call's CPU).
    private var deadlineTimer: Scheduled<Void>?
    private var deadlineTimerAt: NIODeadline?
    /// Who waits for the ACK of the PING out (`probe`).
    private var probeWaiters: [@Sendable (Bool) -> Void] = []

    init(configuration: GRPCClientConfiguration, state: GRPCClientConnection.SharedState, logger: Logger) {
        self.configuration = configuration
        self.state = state
        self.logger = logger
        self.keepalive = KeepalivePolicy(idleInterval: TimeAmount(clamping: configuration.keepaliveInterval),
                                         busySilence: TimeAmount(clamping: configuration.busyPingAfter),
                                         minimumSpacing: TimeAmount(clamping: configuration.minimumPingSpacing), now: .now())
    }

    private var peerName: String { configuration.peerName }

    // MARK: Calls (on the event loop)

    /// Starts one unary call; `promise` completes with the response or fails with a `GRPCCallError`.
    func startCall(path: String, metadata: [(String, String)], request: [UInt8], deadline: Deadline,
                   promise: EventLoopPromise<GRPCClientResponse>) {
        guard let session, context != nil, goAwayLastStreamID == nil else {
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
        let stream = ClientStream(promise: promise, maxResponseBytes: configuration.maxResponseBytes,
                                  deadline: .now() + TimeAmount(clamping: remaining))
        if streams.isEmpty {
            let now = NIODeadline.now()
            keepalive.callsStarted(at: now)
            armKeepaliveCheck(at: now + TimeAmount(clamping: configuration.busyPingAfter))
        }
        streams[streamID] = stream
        state.callStarted()
        armDeadlineTimer(at: stream.deadline)
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
        armKeepaliveCheck(at: .now() + TimeAmount(clamping: configuration.keepaliveInterval))
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        failAll(.connectionLost("connection closed"))
        answerProbes(false)
        session?.delegate = nil
        session = nil
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.markClosed()
        keepaliveTimer?.cancel()
        pingTimeout?.cancel()
        failAll(.connectionLost("connection closed"))
        answerProbes(false)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let session else { return }
        let buffer = unwrapInboundIn(data)
        keepalive.received(at: .now())
        reading = true
        do {
            try buffer.withUnsafeReadableBytes { try session.receive($0) }
        } catch {
            reading = false
            logger.warning("closing \(peerName) connection after an HTTP/2 protocol error", metadata: ["error": "\(error)"])
            state.markFailed()
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
        logger.debug("\(peerName) connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    // MARK: nghttp2 events

    func streamDidBegin(_ streamID: Int32) {}

    func stream(_ streamID: Int32, didReceiveHeader name: UnsafeBufferPointer<UInt8>,
                value: UnsafeBufferPointer<UInt8>, isTrailers: Bool) {
        keepalive.receivedStreamFrame()
        guard let stream = streams[streamID] else { return }
        let key = String(decoding: name, as: UTF8.self)
        let text = String(decoding: value, as: UTF8.self)
        if isTrailers { stream.trailers[key] = text } else { stream.responseHeaders[key] = text }
    }

    func streamDidEndHeaders(_ streamID: Int32, isTrailers: Bool, endStream: Bool) {}

    func stream(_ streamID: Int32, didReceiveData data: UnsafeRawBufferPointer) {
        keepalive.receivedStreamFrame()
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
        state.callFinished()
        if !stream.responseHeaders.isEmpty { keepalive.answered() }
        let refused = goAwayLastStreamID.map { streamID > $0 } ?? false
        switch stream.outcome(errorCode: errorCode, refusedByGoAway: refused) {
        case .success(let response): stream.promise.succeed(response)
        case .failure(let error): stream.promise.fail(error)
        }
    }

    func sessionDidReceiveGoAway(lastStreamID: Int32, errorCode: UInt32) {
        goAwayLastStreamID = lastStreamID
        state.markDraining()
        if errorCode == NGHTTP2Session.enhanceYourCalm { state.markToldToCalmDown() }
        logger.info("\(peerName) sent GOAWAY", metadata: ["last_stream_id": "\(lastStreamID)", "error_code": "\(errorCode)"])
    }

    func sessionDidReceivePingAck() {
        pingTimeout?.cancel()
        pingTimeout = nil
        answerProbes(true)
    }

    /// PINGs now, unless a PING is out already; `answered` learns whether its ACK came.
    func probe(_ answered: @escaping @Sendable (Bool) -> Void) {
        guard session != nil, context != nil else { return answered(false) }
        probeWaiters.append(answered)
        if pingTimeout == nil { sendPing() }
    }

    private func answerProbes(_ answered: Bool) {
        let waiting = probeWaiters
        probeWaiters = []
        for waiter in waiting { waiter(answered) }
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
            state.markFailed()
            failAll(.connectionLost("nghttp2 could not send: \(error)"))
            context.close(promise: nil)
            return
        }
        if buffer.readableBytes > 0 { context.writeAndFlush(wrapOutboundOut(buffer), promise: nil) }
        if !session.wantsRead && !session.wantsWrite { context.close(promise: nil) }
    }

    /// Arms the deadline timer at `when`, unless it is armed sooner. A timer that fires with no
    /// call due (its call was answered) re-arms for the earliest call still open, if any.
    private func armDeadlineTimer(at when: NIODeadline) {
        guard let context else { return }
        if let deadlineTimerAt, deadlineTimerAt <= when { return }
        deadlineTimer?.cancel()
        deadlineTimerAt = when
        deadlineTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: when) { [self] in
            (deadlineTimer, deadlineTimerAt) = (nil, nil)
            expireCalls(at: .now())
        }
    }

    /// Resets every call whose deadline has passed (each fails with `deadlineExceeded` once its
    /// stream closes) and re-arms the timer for the next one.
    private func expireCalls(at now: NIODeadline) {
        guard let session else { return }
        var expired = false
        var next: NIODeadline?
        for (streamID, stream) in streams where stream.failure == nil {
            if stream.deadline <= now {
                stream.failure = .deadlineExceeded
                session.submitReset(streamID: streamID, errorCode: NGHTTP2Session.cancelErrorCode)
                expired = true
            } else {
                next = min(next ?? stream.deadline, stream.deadline)
            }
        }
        if expired { flush() }
        if let next { armDeadlineTimer(at: next) }
    }

    /// Arms the next keepalive check at `when`, unless one is armed sooner.
    private func armKeepaliveCheck(at when: NIODeadline) {
        guard let context else { return }
        if let keepaliveCheckAt, keepaliveCheckAt <= when { return }
        keepaliveTimer?.cancel()
        keepaliveCheckAt = when
        keepaliveTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: when) { [self] in
            keepaliveTimer = nil
            keepaliveCheckAt = nil
            checkKeepalive()
        }
    }

    private func checkKeepalive() {
        let (ping, next) = keepalive.check(at: .now(), openCalls: streams.count)
        if ping && pingTimeout == nil { sendPing() }
        armKeepaliveCheck(at: next)
    }

    /// Sends a PING; without an ACK within the keepalive timeout the connection is closed as failed.
    private func sendPing() {
        guard let session, let context else { return }
        keepalive.pinged(at: .now())
        session.submitPing()
        flush()
        let timeout = configuration.keepaliveTimeout
        pingTimeout = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(clamping: timeout)) { [self] in
            pingTimeout = nil
            logger.warning("the server did not answer a PING in time: the connection is presumed dead or hung; closing it",
                           metadata: ["timeout": "\(timeout)", "open_calls": "\(streams.count)"])
            state.markFailed()
            failAll(.connectionLost("the server did not answer a PING within \(timeout)"))
            answerProbes(false)
            self.context?.close(promise: nil)
        }
    }

    /// Fails every call still open: those whose request never left were not processed.
    private func failAll(_ error: GRPCCallError) {
        let open = streams
        streams = [:]
        deadlineTimer?.cancel()
        (deadlineTimer, deadlineTimerAt) = (nil, nil)
        for (_, stream) in open {
            state.callFinished()
            stream.promise.fail(stream.headersSent ? (stream.failure ?? error) : .notProcessed("request never sent"))
        }
    }
}
