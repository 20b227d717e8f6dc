import NIOCore
@testable import GRPCNGHTTP2

/// A client-side nghttp2 session that talks to a server handler through in-memory buffers, so
/// tests drive the real server code frame by frame without sockets.
final class TestHTTP2Client: NGHTTP2SessionDelegate {
    struct Response {
        var headers: [String: String] = [:]
        var trailers: [String: String] = [:]
        var data: [UInt8] = []
        var closedWithError: UInt32?
        var closed = false

        var grpcStatus: Int? { (trailers["grpc-status"] ?? headers["grpc-status"]).flatMap { Int($0) } }

        /// The response messages, unframed.
        var messages: [[UInt8]] {
            var deframer = MessageDeframer(maxMessageBytes: 1 << 30)
            var messages: [[UInt8]] = []
            data.withUnsafeBytes { bytes in
                try? deframer.feed(bytes) { message throws(MessageDeframer.Failure) in messages.append(message) }
            }
            return messages
        }
        var grpcMessage: String? { trailers["grpc-message"] ?? headers["grpc-message"] }
    }

    let session: NGHTTP2Session
    private(set) var responses: [Int32: Response] = [:]
    private(set) var goAwayLastStreamID: Int32?
    private(set) var goAwayErrorCode: UInt32?

    init() {
        session = NGHTTP2Session(role: .client, settings: NGHTTP2Settings())
        session.delegate = self
    }

    /// Starts a unary gRPC call; `message` nil sends headers that end the stream.
    func startCall(path: String, message: [UInt8]?, extraHeaders: [(String, String)] = [],
                   framed: [UInt8]? = nil) -> Int32 {
        var headers = HeaderFields([(":method", "POST"), (":scheme", "http"), (":path", path),
                                    (":authority", "test"), ("content-type", "application/grpc"), ("te", "trailers")])
        for (name, value) in extraHeaders { headers.add(name, value) }
        let body = framed ?? message.map { MessageFramer.frame($0) }
        let streamID = session.submitRequest(headers: headers, body: body)!
        responses[streamID] = Response()
        return streamID
    }

    /// Opens a call whose request messages follow with `send` and end with `closeSend`.
    func startStreamingCall(path: String, extraHeaders: [(String, String)] = []) -> Int32 {
        var headers = HeaderFields([(":method", "POST"), (":scheme", "http"), (":path", path),
                                    (":authority", "test"), ("content-type", "application/grpc"), ("te", "trailers")])
        for (name, value) in extraHeaders { headers.add(name, value) }
        let streamID = session.submitStreamingRequest(headers: headers)!
        responses[streamID] = Response()
        return streamID
    }

    func send(_ streamID: Int32, _ message: [UInt8]) {
        session.enqueueMessage(streamID: streamID, message)
    }

    func closeSend(_ streamID: Int32) {
        session.finishStreaming(streamID: streamID, trailers: nil, discardingQueued: false)
    }

    /// Bytes the client wants to send.
    func outbound() throws -> ByteBuffer {
        var buffer = ByteBuffer()
        try session.drainOutbound(into: &buffer)
        return buffer
    }

    func receive(_ buffer: ByteBuffer) throws {
        try buffer.withUnsafeReadableBytes { try session.receive($0) }
    }

    func streamDidBegin(_ streamID: Int32) {}

    func stream(_ streamID: Int32, didReceiveHeader name: UnsafeBufferPointer<UInt8>,
                value: UnsafeBufferPointer<UInt8>, isTrailers: Bool) {
        let key = String(decoding: name, as: UTF8.self)
        let text = String(decoding: value, as: UTF8.self)
        if isTrailers {
            responses[streamID, default: Response()].trailers[key] = text
        } else {
            responses[streamID, default: Response()].headers[key] = text
        }
    }

    func streamDidEndHeaders(_ streamID: Int32, isTrailers: Bool, endStream: Bool) {}

    func stream(_ streamID: Int32, didReceiveData data: UnsafeRawBufferPointer) {
        responses[streamID, default: Response()].data.append(contentsOf: data)
    }

    func streamDidEndData(_ streamID: Int32) {}

    func streamDidClose(_ streamID: Int32, errorCode: UInt32) {
        responses[streamID, default: Response()].closed = true
        if errorCode != 0 { responses[streamID, default: Response()].closedWithError = errorCode }
    }

    func sessionDidReceiveGoAway(lastStreamID: Int32, errorCode: UInt32) {
        goAwayLastStreamID = lastStreamID
        goAwayErrorCode = errorCode
    }
}
