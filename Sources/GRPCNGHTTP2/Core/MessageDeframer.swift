/// Reassembles gRPC length-prefixed messages (1-byte compressed flag, 4-byte big-endian length,
/// then the bytes) from chunks of any size, in order.
///
/// The declared length is checked against the limit as soon as the 5-byte prefix is complete, so
/// an oversized message is refused before any of its bytes are buffered.
public struct MessageDeframer: Sendable {
    /// Why a stream of bytes is not a valid sequence of messages.
    public enum Failure: Error, Sendable, Equatable {
        /// The prefix declares `declared` bytes, more than the configured `limit`.
        case messageTooLarge(declared: Int, limit: Int)
        /// The compressed flag is set, but no message encoding was negotiated.
        case compressedWithoutEncoding
        /// The compressed flag is neither 0 nor 1.
        case invalidCompressedFlag(UInt8)

        /// The gRPC status the spec asks for.
        public var status: GRPCStatus {
            switch self {
            case .messageTooLarge(let declared, let limit):
                GRPCStatus(.resourceExhausted, "message of \(declared) bytes exceeds the limit of \(limit) bytes")
            case .compressedWithoutEncoding:
                GRPCStatus(.internal, "compressed flag set but no grpc-encoding was negotiated")
            case .invalidCompressedFlag(let flag):
                GRPCStatus(.internal, "invalid compressed flag \(flag) in message prefix")
            }
        }
    }

    /// The size of the prefix before every message.
    public static let prefixLength = 5

    private let maxMessageBytes: Int
    /// The prefix bytes seen so far, big-endian in the low bytes (no allocation per message).
    private var prefix: UInt64 = 0
    private var prefixCount = 0
    private var body: [UInt8] = []
    private var bodyLength = 0
    private var inBody = false

    public init(maxMessageBytes: Int) {
        self.maxMessageBytes = maxMessageBytes
    }

    /// Whether some bytes of a message (or its prefix) have arrived but not the whole of it.
    public var hasPartialMessage: Bool { inBody || prefixCount > 0 }

    /// Consumes `chunk`, calling `onMessage` for each message it completes.
    public mutating func feed(
        _ chunk: UnsafeRawBufferPointer,
        onMessage: ([UInt8]) throws(Failure) -> Void
    ) throws(Failure) {
        var index = 0
        while index < chunk.count {
            if !inBody {
                while prefixCount < Self.prefixLength && index < chunk.count {
                    prefix = prefix << 8 | UInt64(chunk[index])
                    prefixCount += 1
                    index += 1
                }
                guard prefixCount == Self.prefixLength else { return }
                try beginBody()
                if bodyLength == 0 {
                    try finishMessage(onMessage)
                }
            } else {
                let take = min(bodyLength - body.count, chunk.count - index)
                body.append(contentsOf: chunk[index..<(index + take)])
                index += take
                if body.count == bodyLength {
                    try finishMessage(onMessage)
                }
            }
        }
    }

    /// Convenience for tests and small inputs.
    public mutating func feed(_ bytes: [UInt8], onMessage: ([UInt8]) throws(Failure) -> Void) throws(Failure) {
        var failure: Failure?
        bytes.withUnsafeBytes { raw in
            do throws(Failure) { try feed(raw, onMessage: onMessage) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    private mutating func beginBody() throws(Failure) {
        let flag = UInt8(truncatingIfNeeded: prefix >> 32)
        switch flag {
        case 0: break
        case 1: throw .compressedWithoutEncoding
        default: throw .invalidCompressedFlag(flag)
        }
        let length = Int(prefix & 0xFFFF_FFFF)
        guard length <= maxMessageBytes else {
            throw .messageTooLarge(declared: length, limit: maxMessageBytes)
        }
        bodyLength = length
        inBody = true
        body = []
        // Grow with the bytes that really arrive: a declared length alone must not claim memory.
        body.reserveCapacity(min(length, 64 * 1024))
    }

    private mutating func finishMessage(_ onMessage: ([UInt8]) throws(Failure) -> Void) throws(Failure) {
        let message = body
        body = []
        prefix = 0
        prefixCount = 0
        inBody = false
        bodyLength = 0
        try onMessage(message)
    }
}

/// Writes the gRPC length prefix in front of a message.
public enum MessageFramer {
    /// `message` with its 5-byte prefix (uncompressed).
    public static func frame(_ message: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(MessageDeframer.prefixLength + message.count)
        let length = UInt32(message.count)
        out.append(0)
        out.append(UInt8(truncatingIfNeeded: length >> 24))
        out.append(UInt8(truncatingIfNeeded: length >> 16))
        out.append(UInt8(truncatingIfNeeded: length >> 8))
        out.append(UInt8(truncatingIfNeeded: length))
        out.append(contentsOf: message)
        return out
    }
}
