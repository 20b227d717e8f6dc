/// Bounds on what one request may ask for, beyond the server's message-size limit.
public struct RequestLimits: Sendable, Hashable {
    /// Rows in one insert/upsert, ids in one get/delete.
    public var maxBatchRows: Int
    /// Bytes of one filter expression.
    public var maxFilterBytes: Int
    /// Query vectors in one search.
    public var maxSearchVectors: Int

    public init(maxBatchRows: Int = 100_000, maxFilterBytes: Int = 16_384, maxSearchVectors: Int = 1_024) {
        self.maxBatchRows = maxBatchRows
        self.maxFilterBytes = maxFilterBytes
        self.maxSearchVectors = maxSearchVectors
    }
}
