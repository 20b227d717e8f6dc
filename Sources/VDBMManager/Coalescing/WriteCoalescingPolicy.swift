/// How concurrent inserts (and, apart, upserts) of one collection and partition are merged into
/// one Milvus write (`writes.*` in the daemon's configuration).
public struct WriteCoalescingPolicy: Sendable, Hashable {
    /// Rows in one merged write. A single call with more rows still leaves, as a batch of its own.
    public var maxBatchRows: Int
    /// Bytes of row data in one merged write, kept well under Milvus's request limit (64 MiB by
    /// default); a single larger call still leaves alone.
    public var maxBatchBytes: Int
    /// Merged writes of one key in flight at once.
    public var maxInflightBatches: Int
    /// Rows that may wait in all queues together; a call beyond it is refused at once.
    public var maxQueuedRows: Int

    public init(maxBatchRows: Int, maxBatchBytes: Int, maxInflightBatches: Int, maxQueuedRows: Int) {
        self.maxBatchRows = max(1, maxBatchRows)
        self.maxBatchBytes = max(1, maxBatchBytes)
        self.maxInflightBatches = max(1, maxInflightBatches)
        self.maxQueuedRows = max(0, maxQueuedRows)
    }
}
