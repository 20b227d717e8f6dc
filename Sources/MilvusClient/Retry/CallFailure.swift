/// How a call to Milvus failed, in the terms that decide whether it may be repeated.
public enum CallFailure: Error, Sendable, Hashable {
    /// Provably never processed: connection refused, `REFUSED_STREAM`, a stream above a `GOAWAY`'s
    /// last-stream-id, or no byte of the request sent. Always safe to repeat.
    case notProcessed(String)
    /// Milvus refused it without applying it and said to come back (RateLimit, `retriable`).
    case retriable(code: Int, reason: String)
    /// The transport failed after the request may have reached Milvus: only a read may repeat it.
    case unavailable(String)
    /// The call's deadline passed.
    case deadlineExceeded
    /// The caller was cancelled; the stream was reset.
    case cancelled
    /// Milvus did not accept the credentials.
    case unauthenticated(String)
    /// The credentials are valid but lack the privilege.
    case permissionDenied(String)
    /// Milvus does not have the method (an older Milvus, Milvus Lite): repeating it cannot help.
    case unimplemented(String)
    /// Anything else (bad request, not found, ...): repeating it cannot help.
    case permanent(String)
    /// Milvus answered a pass-through call with this gRPC status (UNIMPLEMENTED from an older
    /// Milvus, say): relayed to the client as it is, never repeated.
    case answered(code: Int, message: String)
}

/// Whether repeating a call can change what it did.
public enum Idempotency: Sendable, Hashable {
    /// Reads, and writes that are harmless to repeat (drop of a dropped collection, ...).
    case idempotent
    /// Writes that must never be applied twice (an insert with server-generated ids, ...).
    case nonIdempotent
}
