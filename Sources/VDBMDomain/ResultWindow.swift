/// Milvus's window on the hits or rows one call returns: a positive count, and with its offset at
/// most 16,384 (Milvus's `topk` bound, which it applies to `limit + offset`). One rule and one
/// message for every call that pages, wherever it is checked.
public enum ResultWindow {
    /// The most hits (or rows) a search or query may reach, its offset included.
    public static let maxHits = 16_384

    /// What is wrong with `count` hits after `offset` (`nil` when nothing is); `name` names the
    /// count as the request does (`limit`, `page_size`, `searches[1].limit`). Without an offset the
    /// count alone is bounded.
    public static func problem(_ name: String, count: Int, offset: Int? = nil) -> String? {
        guard count >= 1 else { return "\(name) is \(count); at least 1" }
        guard let offset else { return count <= maxHits ? nil : "\(name) is \(count); at most \(maxHits)" }
        guard offset >= 0 else { return "offset is \(offset); at least 0" }
        let (total, overflow) = count.addingReportingOverflow(offset)
        guard overflow || total > maxHits else { return nil }
        return "\(name) + offset is \(overflow ? "past \(Int.max)" : "\(total)"); at most \(maxHits)"
    }
}
