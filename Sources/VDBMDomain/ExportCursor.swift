/// Where an export stands: the largest primary key sent so far, and the read point of a
/// strongly consistent export (taken when its first page was asked for).
public struct ExportCursor: Sendable, Hashable {
    public enum Key: Sendable, Hashable {
        case int64(Int64)
        case string(String)
    }

    public var key: Key
    /// Milvus hybrid timestamp: later pages see what was written up to it, without waiting for
    /// Milvus to catch up with the present as a Strong query does (~200 ms a page).
    public var guaranteeTimestamp: UInt64?

    public init(key: Key, guaranteeTimestamp: UInt64? = nil) {
        self.key = key
        self.guaranteeTimestamp = guaranteeTimestamp
    }
}
