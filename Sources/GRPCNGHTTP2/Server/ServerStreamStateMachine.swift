/// One call's life on its HTTP/2 stream, as decisions: which events may still act, and what each
/// leads to. A value type with no I/O (events in, actions out), tested with chosen events like
/// `ServerConnectionStateMachine`; `GRPCServerConnectionHandler` keeps the call's buffers and
/// carries the actions out.
///
///     receiving ──(streaming method)──▶ streaming ──▶ ended
///         │ └──(unary, handler off the loop)──▶ running ──▶ ended
///         └──(answered on the loop, refused, deadline, reset)──────▶ ended
struct ServerStreamStateMachine: Sendable {
    enum Phase: Sendable, Equatable {
        /// Headers and (for a unary call) the request message are arriving.
        case receiving
        /// A unary call's handler runs off the event loop.
        case running
        /// A streaming call's handler runs: it reads request messages as they come and writes responses.
        case streaming
        /// The call's end was submitted (response, status or trailers), or the stream closed first.
        case ended
    }

    private(set) var phase = Phase.receiving
    /// The client sent END_STREAM: a streaming call's reads end after the queued messages.
    private(set) var requestEnded = false
    /// Response headers went out (on a streaming call's first write, or with its end).
    private(set) var headersSent = false
    /// The handler ended the call (returned or threw), not the transport.
    private(set) var handlerReturned = false
    /// The observers were told that the call ended.
    private(set) var reported = false

    var hasEnded: Bool { phase == .ended }
    /// A streaming handler may read and write.
    var isStreaming: Bool { phase == .streaming }

    // MARK: Request events

    /// The headers named a streaming method: its handler starts now. False when the call ended
    /// already (its headers were refused).
    mutating func startStreaming() -> Bool {
        guard phase == .receiving else { return false }
        phase = .streaming
        return true
    }

    enum DataAction: Sendable, Equatable {
        /// Part of a unary call's request message.
        case unary
        /// Request messages for a streaming handler.
        case streaming
        /// Too late (the call ended, its handler runs, or the client already ended its side):
        /// the bytes only go back to the client's window.
        case discard
    }

    /// What DATA that arrives now is for.
    func dataReceived() -> DataAction {
        switch phase {
        case .receiving: .unary
        case .streaming: requestEnded ? .discard : .streaming
        case .running, .ended: .discard
        }
    }

    enum RequestEndAction: Sendable, Equatable {
        /// A unary request is complete: check it and run the handler.
        case runUnary
        /// A streaming handler's reads end after the queued messages.
        case endReads
        case none
    }

    /// END_STREAM from the client (with the headers or after DATA).
    mutating func requestDidEnd() -> RequestEndAction {
        guard !requestEnded else { return .none }
        switch phase {
        case .receiving:
            requestEnded = true
            return .runUnary
        case .streaming:
            requestEnded = true
            return .endReads
        case .running, .ended:
            return .none
        }
    }

    // MARK: Handler events

    /// A unary call's handler left the event loop.
    mutating func handlerDispatched() {
        if phase == .receiving { phase = .running }
    }

    /// The handler returned or threw. False when the call no longer waits for it (a deadline or
    /// a reset ended it first): its result is dropped.
    mutating func handlerFinished() -> Bool {
        guard phase == .running || phase == .streaming else { return false }
        handlerReturned = true
        return true
    }

    /// A streaming handler writes a message: true when the response headers must go first.
    mutating func willWrite() -> Bool {
        defer { headersSent = true }
        return !headersSent
    }

    // MARK: Ends

    enum Ending: Sendable, Equatable {
        /// A unary response: headers, the message, OK trailers.
        case unaryResponse
        /// Headers that carry the status: nothing else of the call went out.
        case trailersOnly
        /// A streaming call's trailers, after its headers when none went out. `discardingQueued`:
        /// the transport, not the handler, ends the call, so what it wrote and nghttp2 still
        /// holds is dropped and the client gets the status at once.
        case streamingTrailers(sendHeaders: Bool, discardingQueued: Bool)
    }

    /// The call ends: `succeeded` with a unary call's response message or a streaming call's OK,
    /// else with a failure status. nil when it ended already (only the first end counts).
    mutating func end(succeeded: Bool) -> Ending? {
        let wasStreaming = phase == .streaming
        guard phase != .ended else { return nil }
        phase = .ended
        guard wasStreaming, headersSent || succeeded else { return succeeded ? .unaryResponse : .trailersOnly }
        let sendHeaders = !headersSent
        headersSent = true
        return .streamingTrailers(sendHeaders: sendHeaders, discardingQueued: !handlerReturned)
    }

    /// The headers are refused at the HTTP level (no gRPC status). False when the call got past them.
    mutating func refuseHTTP() -> Bool {
        guard phase == .receiving else { return false }
        phase = .ended
        return true
    }

    /// The stream closed (the client reset it, or the connection went away). True when the call
    /// had not ended: it counts as cancelled.
    mutating func closed() -> Bool {
        defer { phase = .ended }
        return phase != .ended
    }

    /// True the first time only: the observers hear of a call's end once, whichever path ends it.
    mutating func reportEnd() -> Bool {
        defer { reported = true }
        return !reported
    }
}
