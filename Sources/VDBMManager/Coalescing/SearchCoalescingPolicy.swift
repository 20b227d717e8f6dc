/// The limits and the optional wait, from `search.*` in the configuration. No value of its own
/// is a default: the configuration's keys (`ConfigurationKey`) are the one source of those.
public struct SearchCoalescingPolicy: Sendable, Hashable {
    /// Query vectors in one Milvus search (Milvus caps `nq` at 16,384). A single search with
    /// more vectors than this still leaves, as a batch of its own.
    public var maxBatchVectors: Int
    /// Batches of one key in flight at once.
    public var maxInflightBatches: Int
    /// Query vectors that may wait in all queues together; a search beyond it is refused.
    public var maxQueuedVectors: Int
    /// How long a search that could leave at once waits for others to join it (0: not at all).
    public var maxWait: Duration
    /// After a batch answered its callers, how long the next batch of that key may wait for them
    /// to come back with their next searches, so that they ride together instead of splitting into
    /// groups that take turns (0: it leaves at once). It never delays a search when no caller is
    /// expected back (an idle key, one caller at a time).
    public var regroupWait: Duration

    public init(maxBatchVectors: Int, maxInflightBatches: Int, maxQueuedVectors: Int, maxWait: Duration, regroupWait: Duration) {
        self.maxBatchVectors = max(1, maxBatchVectors)
        self.maxInflightBatches = max(1, maxInflightBatches)
        self.maxQueuedVectors = max(0, maxQueuedVectors)
        self.maxWait = max(.zero, maxWait)
        self.regroupWait = max(.zero, regroupWait)
    }
}
