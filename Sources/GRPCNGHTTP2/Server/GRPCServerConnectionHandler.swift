import CNGHTTP2
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
final class GRPCServerConnectionHandler: ChannelInboundHandler, NGHTTP2SessionDelegate {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let router: GRPCRouter
    private let limits: GRPCServerLimits
    private let logger: Logger
    private let accessLog: Bool
    private let connectionTag: String

    private var session: NGHTTP2Session?
    private var context: ChannelHandlerContext?
    private var streams: [Int32: ServerStream] = [:]
    private var peer = "unknown"
    /// True while nghttp2 parses a read: responses wait for `channelReadComplete` to leave in one write.
    private var reading = false
    private var goAwaySent = false
    /// Guards against re-entering nghttp2's send from one of its own callbacks.
    private var flushing = false

    init(router: GRPCRouter, limits: GRPCServerLimits, logger: Logger, accessLog: Bool, connectionTag: String) {
        self.router = router
        self.limits = limits
        self.logger = logger
        self.accessLog = accessLog
        self.connectionTag = connectionTag
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let session = NGHTTP2Session(role: .server, settings: limits.http2)
        session.delegate = self
        self.session = session
        if let address = context.channel.remoteAddress, let ip = address.ipAddress, let port = address.port {
            peer = address.protocol == .inet6 ? "[\(ip)]:\(port)" : "\(ip):\(port)"
        } else {
            peer = "unix"
        }
        if context.channel.isActive { flush() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelAllStreams()
        session = nil
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        flush()  // our SETTINGS
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
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
        streams[streamID] = ServerStream(maxMessageBytes: limits.maxMessageBytes, startedAt: .now)
    }

    func stream(_ streamID: Int32, didReceiveHeader name: String, value: String, isTrailers: Bool) {
        // Client trailers mean nothing to a gRPC server; only the first header block is kept.
        guard !isTrailers else { return }
        streams[streamID]?.headers.add(name: name, value: value, limit: Int(limits.http2.maxHeaderListSize))
    }

    func streamDidEndHeaders(_ streamID: Int32, isTrailers: Bool, endStream: Bool) {
        guard streams[streamID] != nil else { return }
        if !isTrailers { acceptHeaders(streamID) }
        if endStream { finishRequest(streamID) }
    }

    func stream(_ streamID: Int32, didReceiveData data: UnsafeRawBufferPointer) {
        guard streams[streamID]?.phase == .receiving else { return }
        var completed: [[UInt8]] = []
        do {
            try streams[streamID]!.deframer.feed(data) { message throws(MessageDeframer.Failure) in
                completed.append(message)
            }
        } catch {
            respond(streamID, .failure(error.status))
            return
        }
        for message in completed {
            if streams[streamID]!.message != nil {
                respond(streamID, .failure(GRPCStatus(.internal, "unary call received more than one request message")))
                return
            }
            streams[streamID]!.message = message
        }
    }

    func streamDidEndData(_ streamID: Int32) {
        finishRequest(streamID)
    }

    func streamDidClose(_ streamID: Int32, errorCode: UInt32) {
        guard var stream = streams.removeValue(forKey: streamID) else { return }
        if stream.phase != .responded {
            // The client reset the stream (or the connection is going away) before our answer.
            logAccess(streamID, stream, code: .cancelled)
        }
        stream.cancelWork()
        // No flush here: this runs inside nghttp2's send or receive; the flush that follows both
        // closes the connection once a graceful shutdown has no streams left.
    }

    // MARK: Request handling

    private func acceptHeaders(_ streamID: Int32) {
        switch streams[streamID]!.headers.validate() {
        case .httpError(let status):
            respondHTTPError(streamID, status: status)
        case .grpcError(let status):
            respond(streamID, .failure(status))
        case .unsupportedEncoding(let encoding):
            respond(streamID, .failure(GRPCStatus(.unimplemented, "grpc-encoding \(encoding) is not supported")),
                    extraHeaders: [("grpc-accept-encoding", "identity")])
        case .valid:
            switch router.route(streams[streamID]!.headers.path ?? "") {
            case .failure(let status):
                respond(streamID, .failure(status))
            case .success(let handler):
                streams[streamID]!.handler = handler
                armDeadline(streamID)
            }
        }
    }

    private func armDeadline(_ streamID: Int32) {
        let timeout = streams[streamID]!.headers.timeout.flatMap { GRPCTimeout.parse($0) } ?? limits.defaultTimeout
        streams[streamID]!.deadline = Deadline.after(timeout, from: streams[streamID]!.startedAt)
        guard let context else { return }
        let nanoseconds = timeout.components.seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let delay = TimeAmount.nanoseconds(nanoseconds.overflow ? Int64.max / 2 : nanoseconds.partialValue
            + timeout.components.attoseconds / 1_000_000_000)
        streams[streamID]!.timer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            guard let phase = streams[streamID]?.phase, phase != .responded else { return }
            streams[streamID]!.timer = nil
            respond(streamID, .failure(GRPCStatus(.deadlineExceeded, "deadline exceeded")))
        }
    }

    /// The client finished sending: check that exactly one message came, then run the handler.
    private func finishRequest(_ streamID: Int32) {
        guard let stream = streams[streamID], stream.phase == .receiving else { return }
        if stream.deframer.hasPartialMessage {
            return respond(streamID, .failure(GRPCStatus(.internal, "request ended inside a message")))
        }
        guard let message = stream.message, let handler = stream.handler, let deadline = stream.deadline else {
            return respond(streamID, .failure(GRPCStatus(.internal, "unary call received no request message")))
        }
        if deadline.hasPassed() {
            return respond(streamID, .failure(GRPCStatus(.deadlineExceeded, "deadline exceeded before the call started")))
        }
        streams[streamID]!.message = nil
        let callContext = makeCallContext(streamID, stream: stream, deadline: deadline)
        switch handler {
        case .immediate(let body):
            do throws(GRPCStatus) {
                respond(streamID, .success(try body(message, callContext)))
            } catch {
                respond(streamID, .failure(error))
            }
        case .async(let body):
            guard let eventLoop = context?.eventLoop else { return }
            streams[streamID]!.phase = .dispatched
            let bound = NIOLoopBound(self, eventLoop: eventLoop)
            streams[streamID]!.task = Task {
                let result: Result<[UInt8], GRPCStatus>
                do {
                    result = .success(try await body(message, callContext))
                } catch let error as any GRPCStatusConvertible {
                    result = .failure(error.grpcStatus)
                } catch is CancellationError {
                    result = .failure(GRPCStatus(.cancelled, "call cancelled"))
                } catch {
                    callContext.logger.error("handler failed", metadata: ["error": "\(error)"])
                    result = .failure(GRPCStatus(.internal, "internal error"))
                }
                eventLoop.execute {
                    bound.value.handlerDidFinish(streamID, result)
                }
            }
        }
    }

    private func handlerDidFinish(_ streamID: Int32, _ result: Result<[UInt8], GRPCStatus>) {
        guard streams[streamID]?.phase == .dispatched else { return }  // answered already (deadline) or gone
        streams[streamID]!.task = nil
        respond(streamID, result)
    }

    private func makeCallContext(_ streamID: Int32, stream: ServerStream, deadline: Deadline) -> ServerCallContext {
        let path = stream.headers.path ?? ""
        let requestID = self.requestID(streamID, stream)
        var callLogger = logger
        callLogger[metadataKey: "request_id"] = "\(requestID)"
        callLogger[metadataKey: "method"] = "\(path)"
        return ServerCallContext(path: path, metadata: stream.headers.metadata, deadline: deadline, peer: peer,
                                 requestID: requestID, logger: callLogger)
    }

    private func requestID(_ streamID: Int32, _ stream: ServerStream) -> String {
        Self.acceptableRequestID(stream.headers.requestID) ?? "\(connectionTag)-\(streamID)"
    }

    /// A client's request id is kept when it is short printable ASCII (it goes into logs).
    private static func acceptableRequestID(_ value: String?) -> String? {
        guard let value, !value.isEmpty, value.utf8.count <= 128,
              value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") })
        else { return nil }
        return value
    }

    // MARK: Responses

    private static let successHeaders = HeaderFields([(":status", "200"), ("content-type", "application/grpc")])
    private static let okTrailers = HeaderFields([("grpc-status", "0")])

    private func respond(_ streamID: Int32, _ result: Result<[UInt8], GRPCStatus>,
                         extraHeaders: [(String, String)] = []) {
        guard let session, let phase = streams[streamID]?.phase, phase != .responded else { return }
        streams[streamID]!.phase = .responded
        streams[streamID]!.cancelWork()
        switch result {
        case .success(let message):
            session.submitResponse(streamID: streamID, headers: Self.successHeaders,
                                   body: MessageFramer.frame(message), trailers: Self.okTrailers)
            logAccess(streamID, streams[streamID]!, code: .ok)
        case .failure(let status):
            var headers = Self.successHeaders
            headers.add("grpc-status", String(status.code.rawValue))
            if !status.message.isEmpty {
                headers.add("grpc-message", PercentEncoding.encode(status.message))
            }
            for (name, value) in extraHeaders { headers.add(name, value) }
            session.submitHeadersOnly(streamID: streamID, headers: headers)
            logAccess(streamID, streams[streamID]!, code: status.code, message: status.message)
        }
        flush()
    }

    private func respondHTTPError(_ streamID: Int32, status: Int) {
        guard let session, streams[streamID]?.phase == .receiving else { return }
        streams[streamID]!.phase = .responded
        var headers = HeaderFields([(":status", String(status))])
        if status == 405 { headers.add("allow", "POST") }
        session.submitHeadersOnly(streamID: streamID, headers: headers)
        if accessLog {
            logger.info("rpc", metadata: [
                "method": "\(streams[streamID]!.headers.path ?? "")", "http_status": "\(status)", "peer": "\(peer)",
            ])
        }
        flush()
    }

    private func logAccess(_ streamID: Int32, _ stream: ServerStream, code: GRPCStatus.Code, message: String = "") {
        guard accessLog else { return }
        let elapsed = stream.startedAt.duration(to: .now)
        let (seconds, attoseconds) = elapsed.components
        let milliseconds = Double(seconds) * 1000 + Double(attoseconds) / 1e15
        logger.info("rpc", metadata: [
            "method": "\(stream.headers.path ?? "")",
            "status": "\(code.name)",
            "duration_ms": .stringConvertible((milliseconds * 1000).rounded() / 1000),
            "peer": "\(peer)",
            "request_id": "\(requestID(streamID, stream))",
        ].merging(message.isEmpty ? [:] : ["error": "\(message)"]) { first, _ in first })
    }

    // MARK: Output and shutdown

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
        if !session.wantsRead && !session.wantsWrite || goAwaySent && streams.isEmpty {
            context.close(promise: nil)
        }
    }

    /// Two-step GOAWAY (RFC 9113 §6.8): a notice first, so requests already on the wire are not
    /// lost, then the final GOAWAY with the last stream really processed.
    private func beginGracefulShutdown() {
        guard let context, let session, !goAwaySent else { return }
        session.submitShutdownNotice()
        flush()
        context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(100)) { [self] in
            guard let session = self.session else { return }
            session.submitGoAway()
            goAwaySent = true
            flush()
        }
    }

    private func cancelAllStreams() {
        for streamID in Array(streams.keys) {
            guard var stream = streams.removeValue(forKey: streamID) else { continue }
            if stream.phase != .responded { logAccess(streamID, stream, code: .cancelled) }
            stream.cancelWork()
        }
    }
}
