import VDBMManager

extension SearchCoalescingPolicy {
    /// What the coalescing tests assume unless they say otherwise: one merged search in flight
    /// per key and no waiting, so batches form only while one is in flight.
    static func forTests(maxBatchVectors: Int = 256, maxInflightBatches: Int = 1, maxQueuedVectors: Int = 16_384,
                         maxWait: Duration = .zero, regroupWait: Duration = .zero) -> Self {
        SearchCoalescingPolicy(maxBatchVectors: maxBatchVectors, maxInflightBatches: maxInflightBatches,
                               maxQueuedVectors: maxQueuedVectors, maxWait: maxWait, regroupWait: regroupWait)
    }
}
