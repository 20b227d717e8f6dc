/// Receives what an `NGHTTP2Session` parses, synchronously, while `receive(_:)` runs.
///
/// Every call happens on the event loop that owns the session. Implementations may submit
/// frames to the session from inside these calls.
protocol NGHTTP2SessionDelegate: AnyObject {
    /// The peer opened a stream with a HEADERS frame (a request on a server, a response on a client).
    func streamDidBegin(_ streamID: Int32)
    /// One header field of the stream's first header block (`isTrailers` false) or of its trailers.
    /// The bytes are valid only during the call (nghttp2 has checked and lower-cased the name).
    func stream(_ streamID: Int32, didReceiveHeader name: UnsafeBufferPointer<UInt8>,
                value: UnsafeBufferPointer<UInt8>, isTrailers: Bool)
    /// A header block is complete; `endStream` when the peer will send nothing more.
    func streamDidEndHeaders(_ streamID: Int32, isTrailers: Bool, endStream: Bool)
    /// A chunk of DATA payload (flow control is handled by nghttp2).
    func stream(_ streamID: Int32, didReceiveData data: UnsafeRawBufferPointer)
    /// A DATA frame carried END_STREAM: the peer's side of the stream is finished.
    func streamDidEndData(_ streamID: Int32)
    /// The stream is closed (normally, or by RST_STREAM with `errorCode`); nothing more will arrive.
    func streamDidClose(_ streamID: Int32, errorCode: UInt32)
    /// The peer sent GOAWAY: streams above `lastStreamID` were not processed.
    func sessionDidReceiveGoAway(lastStreamID: Int32, errorCode: UInt32)
    /// Our HEADERS frame for the stream has been handed to the socket buffer: from here on the
    /// peer may process the request.
    func streamDidSendHeaders(_ streamID: Int32)
    /// The peer acknowledged one of our PINGs.
    func sessionDidReceivePingAck()
    /// The peer sent a PING (nghttp2 answers it by itself).
    func sessionDidReceivePing()
    /// The peer sent its SETTINGS (a client: right after its connection preface).
    func sessionDidReceiveSettings()
}

extension NGHTTP2SessionDelegate {
    func sessionDidReceiveGoAway(lastStreamID: Int32, errorCode: UInt32) {}
    func streamDidSendHeaders(_ streamID: Int32) {}
    func sessionDidReceivePingAck() {}
    func sessionDidReceivePing() {}
    func sessionDidReceiveSettings() {}
}
