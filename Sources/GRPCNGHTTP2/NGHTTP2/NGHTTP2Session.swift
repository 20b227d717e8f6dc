import CNGHTTP2
import NIOCore

/// The thin, unsafe layer over one `nghttp2_session`: bytes in, events out to a delegate,
/// frames submitted by typed calls, bytes out into a `ByteBuffer`.
///
/// Not thread-safe by design: one instance belongs to one channel handler and is only used on
/// that channel's event loop.
final class NGHTTP2Session {
    /// A fatal error from nghttp2: the connection cannot go on.
    struct ProtocolError: Error, CustomStringConvertible {
        let code: Int
        var description: String { String(cString: nghttp2_strerror(Int32(code))) }
    }

    enum Role { case server, client }

    /// HTTP/2 error codes the gRPC layer sends or reads (RFC 9113 §7).
    static let cancelErrorCode = UInt32(NGHTTP2_CANCEL.rawValue)
    static let refusedStreamErrorCode = UInt32(NGHTTP2_REFUSED_STREAM.rawValue)

    /// A message body waiting to be sent, followed by trailers (a gRPC response) or not. With
    /// `lengthPrefixed`, the gRPC 5-byte prefix is written in front of `bytes` while copying into
    /// nghttp2's frame buffer, so the message itself is never copied to make room for it.
    private struct OutboundBody {
        var bytes: [UInt8]
        var prefix: [UInt8] = []
        var offset = 0
        var trailers: (any NameValueList)?

        init(bytes: [UInt8], lengthPrefixed: Bool, trailers: (any NameValueList)?) {
            self.bytes = bytes
            self.trailers = trailers
            if lengthPrefixed {
                let length = UInt32(truncatingIfNeeded: bytes.count)
                prefix = [0, UInt8(truncatingIfNeeded: length >> 24), UInt8(truncatingIfNeeded: length >> 16),
                          UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length)]
            }
        }

        var total: Int { prefix.count + bytes.count }
        var remaining: Int { total - offset }

        /// Copies up to `capacity` of the bytes not yet sent to `buffer`; returns how many.
        mutating func copy(into buffer: UnsafeMutablePointer<UInt8>, capacity: Int) -> Int {
            let count = min(capacity, remaining)
            var written = 0
            while written < count && offset < prefix.count {
                buffer[written] = prefix[offset]
                written += 1
                offset += 1
            }
            if written < count {
                let start = offset - prefix.count
                bytes.withUnsafeBufferPointer { source in
                    (buffer + written).update(from: source.baseAddress! + start, count: count - written)
                }
                offset += count - written
            }
            return count
        }
    }

    /// The messages of a streaming response not yet handed to nghttp2, then its trailers. nghttp2
    /// asks for DATA only as the peer's flow-control window allows: a slow reader leaves them here,
    /// and `queuedBytes` tells the writer to wait.
    private struct StreamingBody {
        var messages = CircularBuffer<OutboundBody>()
        var queuedBytes = 0
        /// Set when the sender is done: the stream ends after the last message, with `trailers`
        /// (a server's status) or without (a client's half-close).
        var ended = false
        var trailers: (any NameValueList)?

        mutating func append(_ message: [UInt8]) {
            guard !ended else { return }
            let outbound = OutboundBody(bytes: message, lengthPrefixed: true, trailers: nil)
            queuedBytes += outbound.total
            messages.append(outbound)
        }

        mutating func finish(trailers: (any NameValueList)?, discardingQueued: Bool) {
            guard !ended else { return }
            if discardingQueued {
                messages.removeAll()
                queuedBytes = 0
            }
            ended = true
            self.trailers = trailers
        }

        /// Copies queued bytes into `buffer`; `done` once the last message is out and the
        /// trailers are set.
        mutating func fill(_ buffer: UnsafeMutablePointer<UInt8>, capacity: Int) -> (written: Int, done: Bool) {
            var written = 0
            while written < capacity, !messages.isEmpty {
                let count = messages[messages.startIndex].copy(into: buffer + written, capacity: capacity - written)
                written += count
                queuedBytes -= count
                if messages[messages.startIndex].remaining == 0 { messages.removeFirst() }
            }
            return (written, messages.isEmpty && ended)
        }
    }

    private var session: OpaquePointer?
    private var outboundBodies: [Int32: OutboundBody] = [:]
    private var streamingBodies: [Int32: StreamingBody] = [:]
    /// Strong, to spare a weak load per callback; the owner clears it when it is removed.
    var delegate: (any NGHTTP2SessionDelegate)?

    /// With `manualFlowControl`, nghttp2 opens its receive windows again only for bytes the owner
    /// reports with ``consume(streamID:bytes:)``: a server holds back a streaming call's client
    /// until its handler reads.
    init(role: Role, settings: NGHTTP2Settings, manualFlowControl: Bool = false) {
        var callbacks: OpaquePointer?
        nghttp2_session_callbacks_new(&callbacks)
        defer { nghttp2_session_callbacks_del(callbacks) }
        Self.install(into: callbacks)

        var options: OpaquePointer?
        nghttp2_option_new(&options)
        defer { nghttp2_option_del(options) }
        // nghttp2 enforces the header list size we announce only on what it sends; we count ours.
        nghttp2_option_set_max_send_header_block_length(options, 64 * 1024)
        if manualFlowControl { nghttp2_option_set_no_auto_window_update(options, 1) }

        let userData = Unmanaged.passUnretained(self).toOpaque()
        switch role {
        case .server: nghttp2_session_server_new2(&session, callbacks, userData, options)
        case .client: nghttp2_session_client_new2(&session, callbacks, userData, options)
        }

        var entries = [
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue),
                                   value: settings.maxConcurrentStreams),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue),
                                   value: settings.initialWindowSize),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue),
                                   value: settings.maxHeaderListSize),
        ]
        nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &entries, entries.count)
        nghttp2_session_set_local_window_size(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0,
                                              settings.connectionWindowSize)
    }

    deinit {
        nghttp2_session_del(session)
    }

    // MARK: Input and output

    /// Feeds bytes read from the socket; delegate calls happen before this returns.
    func receive(_ bytes: UnsafeRawBufferPointer) throws(ProtocolError) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        let result = nghttp2_session_mem_recv(session, base.assumingMemoryBound(to: UInt8.self), bytes.count)
        if result < 0 { throw ProtocolError(code: result) }
    }

    /// Appends every frame nghttp2 wants to send to `buffer`.
    func drainOutbound(into buffer: inout ByteBuffer) throws(ProtocolError) {
        while true {
            var chunk: UnsafePointer<UInt8>?
            let length = nghttp2_session_mem_send(session, &chunk)
            if length < 0 { throw ProtocolError(code: length) }
            guard length > 0, let chunk else { return }
            buffer.writeBytes(UnsafeRawBufferPointer(start: chunk, count: length))
        }
    }

    /// Whether nghttp2 still expects to read; false once the session is finished (GOAWAY, errors).
    var wantsRead: Bool { nghttp2_session_want_read(session) != 0 }
    /// Whether nghttp2 has frames queued to send.
    var wantsWrite: Bool { nghttp2_session_want_write(session) != 0 }

    // MARK: Submitting frames

    /// Submits a HEADERS frame that ends the stream: a trailers-only gRPC response or a bare
    /// HTTP error response.
    @discardableResult
    func submitHeadersOnly(streamID: Int32, headers: some NameValueList) -> Bool {
        headers.withNameValueArray { nameValues, count in
            nghttp2_submit_response(session, streamID, nameValues, count, nil) == 0
        }
    }

    /// Submits response headers, `message` (with its gRPC length prefix) as DATA, then `trailers`
    /// (which end the stream).
    @discardableResult
    func submitResponse(streamID: Int32, headers: some NameValueList, message: [UInt8],
                        trailers: any NameValueList) -> Bool {
        outboundBodies[streamID] = OutboundBody(bytes: message, lengthPrefixed: true, trailers: trailers)
        var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil),
                                             read_callback: Self.readBody)
        let submitted = headers.withNameValueArray { nameValues, count in
            nghttp2_submit_response(session, streamID, nameValues, count, &provider) == 0
        }
        if !submitted { outboundBodies[streamID] = nil }
        return submitted
    }

    /// Opens a stream with `headers` (a client's request) and sends one gRPC message (its length
    /// prefix added on the way out), ending the stream with the last DATA frame.
    func submitRequest(headers: some NameValueList, message: [UInt8]) -> Int32? {
        submitRequest(headers: headers, body: message, lengthPrefixed: true)
    }

    /// Opens a stream with `headers` and sends `body` as it is (tests send raw, even malformed,
    /// bodies), ending the stream with the last DATA frame (or with the headers when `body` is
    /// nil). Returns the new stream's id, or nil when nghttp2 refuses (no stream ids left, session
    /// going away).
    func submitRequest(headers: some NameValueList, body: [UInt8]?, lengthPrefixed: Bool = false) -> Int32? {
        var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: Self.readBody)
        let streamID: Int32 = headers.withNameValueArray { nameValues, count in
            if body == nil {
                return nghttp2_submit_request(session, nil, nameValues, count, nil, nil)
            }
            return nghttp2_submit_request(session, nil, nameValues, count, &provider, nil)
        }
        guard streamID > 0 else { return nil }
        if let body { outboundBodies[streamID] = OutboundBody(bytes: body, lengthPrefixed: lengthPrefixed, trailers: nil) }
        return streamID
    }

    /// Reports `bytes` of a stream's DATA as processed (only with `manualFlowControl`): nghttp2
    /// sends WINDOW_UPDATE for the stream and the connection once enough are.
    func consume(streamID: Int32, bytes: Int) {
        guard bytes > 0 else { return }
        nghttp2_session_consume(session, streamID, bytes)
    }

    // MARK: Streaming responses

    /// Submits the response headers of a streaming call; its messages follow with
    /// ``enqueueMessage(streamID:_:)`` and its end with ``finishStreaming(streamID:trailers:discardingQueued:)``.
    @discardableResult
    func submitStreamingHeaders(streamID: Int32, headers: some NameValueList) -> Bool {
        streamingBodies[streamID] = StreamingBody()
        var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: Self.readStreamingBody)
        let submitted = headers.withNameValueArray { nameValues, count in
            nghttp2_submit_response(session, streamID, nameValues, count, &provider) == 0
        }
        if !submitted { streamingBodies[streamID] = nil }
        return submitted
    }

    /// Queues one message (its gRPC length prefix added on the way out) on a streaming response.
    func enqueueMessage(streamID: Int32, _ message: [UInt8]) {
        // Mutated in place through the dictionary: a copy would duplicate the queue's storage.
        guard streamingBodies[streamID]?.append(message) != nil else { return }
        nghttp2_session_resume_data(session, streamID)
    }

    /// Opens a stream whose request messages follow with ``enqueueMessage(streamID:_:)`` and whose
    /// end is ``finishStreaming(streamID:trailers:discardingQueued:)`` without trailers.
    func submitStreamingRequest(headers: some NameValueList) -> Int32? {
        var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: Self.readStreamingBody)
        let streamID: Int32 = headers.withNameValueArray { nameValues, count in
            nghttp2_submit_request(session, nil, nameValues, count, &provider, nil)
        }
        guard streamID > 0 else { return nil }
        streamingBodies[streamID] = StreamingBody()
        return streamID
    }

    /// Ends a streaming body after the queued messages (or instead of them), with `trailers` (a
    /// server's status) or without (a client's half-close).
    func finishStreaming(streamID: Int32, trailers: (any NameValueList)?, discardingQueued: Bool) {
        guard streamingBodies[streamID]?.finish(trailers: trailers, discardingQueued: discardingQueued) != nil else { return }
        nghttp2_session_resume_data(session, streamID)
    }

    /// Bytes of a streaming response's messages that nghttp2 has not taken yet.
    func queuedOutboundBytes(streamID: Int32) -> Int {
        streamingBodies[streamID]?.queuedBytes ?? 0
    }

    /// Resets one stream with an HTTP/2 error code.
    func submitReset(streamID: Int32, errorCode: UInt32) {
        nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), streamID, errorCode)
    }

    /// Sends a PING (keepalive); the ACK arrives as `sessionDidReceivePingAck`.
    func submitPing() {
        nghttp2_submit_ping(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), nil)
    }

    /// The peer's `SETTINGS_MAX_CONCURRENT_STREAMS` (unlimited until its SETTINGS arrive).
    var remoteMaxConcurrentStreams: UInt32 {
        nghttp2_session_get_remote_settings(session, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS)
    }

    /// Announces a coming shutdown (GOAWAY with the maximum stream id), as the first of the two
    /// GOAWAY frames of a graceful shutdown.
    func submitShutdownNotice() {
        nghttp2_submit_shutdown_notice(session)
    }

    /// Sends the final GOAWAY: streams up to the last one processed may still finish.
    func submitGoAway(errorCode: UInt32 = UInt32(NGHTTP2_NO_ERROR.rawValue), debugData: String = "") {
        let last = nghttp2_session_get_last_proc_stream_id(session)
        var bytes = Array(debugData.utf8)
        bytes.withUnsafeMutableBufferPointer { buffer in
            _ = nghttp2_submit_goaway(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), last, errorCode, buffer.baseAddress, buffer.count)
        }
    }

    /// HTTP/2's ENHANCE_YOUR_CALM: what a GOAWAY for a PING flood carries.
    static let enhanceYourCalm = UInt32(NGHTTP2_ENHANCE_YOUR_CALM.rawValue)

    // MARK: Callbacks (C function pointers: no captures, the session comes back through user data)

    /// Runs `body` with the session `userData` names, without retaining it: nghttp2 calls back
    /// only from inside the session's own calls (receive, send), whose caller holds the session.
    /// (A retain and a release per callback, a dozen callbacks per call, were a tenth of a
    /// Health/Check's CPU.)
    private static func withOwner<Result>(_ userData: UnsafeMutableRawPointer?, _ body: (NGHTTP2Session) -> Result) -> Result {
        Unmanaged<NGHTTP2Session>.fromOpaque(userData!)._withUnsafeGuaranteedRef(body)
    }

    private static func isTrailers(_ frame: UnsafePointer<nghttp2_frame>) -> Bool {
        frame.pointee.headers.cat == NGHTTP2_HCAT_HEADERS
    }

    private static func install(into callbacks: OpaquePointer?) {
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks) { _, frame, userData in
            guard let frame, frame.pointee.hd.type == UInt8(NGHTTP2_HEADERS.rawValue) else { return 0 }
            let category = frame.pointee.headers.cat
            if category == NGHTTP2_HCAT_REQUEST || category == NGHTTP2_HCAT_RESPONSE {
                NGHTTP2Session.withOwner(userData) { $0.delegate?.streamDidBegin(frame.pointee.hd.stream_id) }
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_header_callback(callbacks) {
            _, frame, name, nameLength, value, valueLength, _, userData in
            guard let frame, frame.pointee.hd.type == UInt8(NGHTTP2_HEADERS.rawValue) else { return 0 }
            NGHTTP2Session.withOwner(userData) {
                $0.delegate?.stream(frame.pointee.hd.stream_id, didReceiveHeader: UnsafeBufferPointer(start: name, count: nameLength),
                                    value: UnsafeBufferPointer(start: value, count: valueLength),
                                    isTrailers: NGHTTP2Session.isTrailers(frame))
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks) { _, frame, userData in
            guard let frame else { return 0 }
            let delegate = NGHTTP2Session.withOwner(userData) { $0.delegate }
            let header = frame.pointee.hd
            let endStream = header.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
            switch UInt32(header.type) {
            case NGHTTP2_HEADERS.rawValue:
                delegate?.streamDidEndHeaders(header.stream_id, isTrailers: NGHTTP2Session.isTrailers(frame), endStream: endStream)
            case NGHTTP2_DATA.rawValue where endStream:
                delegate?.streamDidEndData(header.stream_id)
            case NGHTTP2_PING.rawValue where header.flags & UInt8(NGHTTP2_FLAG_ACK.rawValue) != 0:
                delegate?.sessionDidReceivePingAck()
            case NGHTTP2_PING.rawValue:
                delegate?.sessionDidReceivePing()
            case NGHTTP2_SETTINGS.rawValue where header.flags & UInt8(NGHTTP2_FLAG_ACK.rawValue) == 0:
                delegate?.sessionDidReceiveSettings()
            case NGHTTP2_GOAWAY.rawValue:
                delegate?.sessionDidReceiveGoAway(lastStreamID: frame.pointee.goaway.last_stream_id,
                                                  errorCode: frame.pointee.goaway.error_code)
            default:
                break
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_frame_send_callback(callbacks) { _, frame, userData in
            guard let frame, frame.pointee.hd.type == UInt8(NGHTTP2_HEADERS.rawValue),
                  frame.pointee.headers.cat == NGHTTP2_HCAT_REQUEST else { return 0 }
            NGHTTP2Session.withOwner(userData) { $0.delegate?.streamDidSendHeaders(frame.pointee.hd.stream_id) }
            return 0
        }
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks) {
            _, _, streamID, data, length, userData in
            NGHTTP2Session.withOwner(userData) {
                $0.delegate?.stream(streamID, didReceiveData: UnsafeRawBufferPointer(start: data, count: length))
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks) { _, streamID, errorCode, userData in
            NGHTTP2Session.withOwner(userData) { owner in
                owner.outboundBodies[streamID] = nil
                owner.streamingBodies[streamID] = nil
                owner.delegate?.streamDidClose(streamID, errorCode: errorCode)
            }
            return 0
        }
    }

    /// Copies the next part of a stream's outbound body into nghttp2's frame buffer; at the end,
    /// submits the trailers (nghttp2 allows that from inside this callback).
    private static let readBody: nghttp2_data_source_read_callback = {
        nghttp2Session, streamID, buffer, capacity, flags, _, userData in
        NGHTTP2Session.withOwner(userData) { owner in
            guard var body = owner.outboundBodies[streamID], let buffer, let flags else {
                return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
            }
            let count = body.copy(into: buffer, capacity: capacity)
            if body.remaining == 0 {
                flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
                if let trailers = body.trailers {
                    flags.pointee |= NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue
                    trailers.withNameValueArray { nameValues, nameValueCount in
                        _ = nghttp2_submit_trailer(nghttp2Session, streamID, nameValues, nameValueCount)
                    }
                }
                owner.outboundBodies[streamID] = nil
            } else {
                owner.outboundBodies[streamID] = body
            }
            return count
        }
    }

    /// Like `readBody` for a streaming response: copies queued messages while there is room;
    /// with none queued, defers (``enqueueMessage(streamID:_:)`` resumes it) until the body has ended.
    private static let readStreamingBody: nghttp2_data_source_read_callback = {
        nghttp2Session, streamID, buffer, capacity, flags, _, userData in
        NGHTTP2Session.withOwner(userData) { owner in
            guard let buffer, let flags,
                  let (written, done) = owner.streamingBodies[streamID]?.fill(buffer, capacity: capacity) else {
                return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
            }
            guard done, let body = owner.streamingBodies.removeValue(forKey: streamID) else {
                return written > 0 ? written : Int(NGHTTP2_ERR_DEFERRED.rawValue)
            }
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            if let trailers = body.trailers {
                flags.pointee |= NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue
                trailers.withNameValueArray { nameValues, nameValueCount in
                    _ = nghttp2_submit_trailer(nghttp2Session, streamID, nameValues, nameValueCount)
                }
            }
            return written
        }
    }
}
