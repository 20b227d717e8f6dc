import NIOCore
import VDBMUtils

/// Streaming calls: the handler runs from the headers on, reads request messages as they arrive
/// (the client held back by HTTP/2 flow control while it does not) and writes responses (held
/// back while its client does not read).
extension GRPCServerConnectionHandler {
    /// Starts a streaming handler as soon as its headers are in: it reads the request messages
    /// as they arrive.
    func startStreaming(
        _ streamID: Int32, _ stream: ServerStream,
        _ body: @escaping @Sendable (RequestMessages, ResponseWriter, ServerCallContext) async throws -> Void
    ) {
        guard let eventLoop, let deadline = stream.deadline, stream.machine.startStreaming() else { return }
        stream.streaming = StreamingState()
        let callContext = makeCallContext(streamID, stream, deadline: deadline)
        let endpoint = NIOLoopBound<any StreamingCallEndpoint>(self, eventLoop: eventLoop)
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        let executor = taskExecutor ?? EventLoopTaskExecutor(eventLoop)
        taskExecutor = executor
        let trace = traceContext(streamID, stream)
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
        guard let stream = stream(streamID), stream.machine.handlerFinished() else { return }
        stream.task = nil
        respond(streamID, stream, failure.map { .failure($0) } ?? .success([]))
    }

    /// DATA for a streaming call: whole messages go to a waiting reader or the queue. The bytes
    /// are given back to the client's window at once while the handler keeps up, and only when it
    /// has read the queue otherwise: a client never gets more than a window ahead of its handler.
    func receiveStreaming(_ streamID: Int32, _ stream: ServerStream, _ streaming: StreamingState,
                                  _ data: UnsafeRawBufferPointer) {
        if streaming.inbound.isEmpty {
            session?.consume(streamID: streamID, bytes: data.count)
        } else {
            streaming.unconsumedBytes += data.count
        }
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
    func endReads(_ streamID: Int32, _ stream: ServerStream) {
        if stream.deframer.hasPartialMessage {
            return respond(streamID, stream, .failure(GRPCStatus(.internal, "request ended inside a message")))
        }
        if let streaming = stream.streaming, streaming.inbound.isEmpty, let reader = streaming.reader {
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
        guard let stream = stream(streamID), stream.machine.isStreaming, let streaming = stream.streaming else {
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
        if stream.machine.requestEnded { return eventLoop.makeSucceededFuture(nil) }
        guard streaming.reader == nil else {
            return eventLoop.makeFailedFuture(GRPCStatus(.internal, "two readers on one request stream"))
        }
        let promise = eventLoop.makePromise(of: [UInt8]?.self)
        streaming.reader = promise
        return promise.futureResult
    }

    func writeResponse(_ streamID: Int32, _ message: [UInt8]) -> EventLoopFuture<Void> {
        guard let eventLoop else { preconditionFailure("a streaming call outlived its connection handler") }
        guard let session, let stream = stream(streamID), stream.machine.isStreaming, let streaming = stream.streaming else {
            return eventLoop.makeFailedFuture(GRPCStatus(.cancelled, "the call has ended"))
        }
        if stream.machine.willWrite() {
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
    func resumeWriters(_ session: NGHTTP2Session) {
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
    func endStreamingResponse(_ streamID: Int32, _ stream: ServerStream, _ session: NGHTTP2Session,
                                      failure: GRPCStatus?, sendHeaders: Bool, discardingQueued: Bool) {
        let responseBytes = stream.streaming?.responseBytes ?? 0
        if sendHeaders {
            session.submitStreamingHeaders(streamID: streamID, headers: StaticHeaderBlockAndField(
                block: Self.successHeaders, name: "x-request-id", value: requestID(streamID, stream)))
        }
        if let failure {
            var trailers = HeaderFields([("grpc-status", String(failure.code.rawValue))])
            if !failure.message.isEmpty { trailers.add("grpc-message", PercentEncoding.encode(failure.message)) }
            session.finishStreaming(streamID: streamID, trailers: trailers, discardingQueued: discardingQueued)
            report(streamID, stream, code: failure.code, message: failure.message, responseBytes: responseBytes)
        } else {
            session.finishStreaming(streamID: streamID, trailers: Self.okTrailers, discardingQueued: discardingQueued)
            report(streamID, stream, code: .ok, responseBytes: responseBytes)
        }
    }
}
