/// Where a search iterator stands after a page: the distance of the last hit sent, the keys of the
/// hits sent at exactly that distance, and how far the next range search reaches at first.
public struct SearchIteratorCursor: Sendable, Hashable {
    /// Whether a larger distance is a better hit (IP, COSINE, BM25) rather than a worse one (L2).
    public let largerIsBetter: Bool
    /// The distance of the last hit sent.
    public var tail: Float
    /// The hits already sent at `tail`: `range_filter` keeps that distance, so they are left out by key.
    public var tiedKeys: [PrimaryKey]
    /// The first ring's width beyond `tail`: the distance spanned by the last full page.
    public var width: Float

    public init(largerIsBetter: Bool, tail: Float, tiedKeys: [PrimaryKey], width: Float) {
        self.largerIsBetter = largerIsBetter
        self.tail = tail
        self.tiedKeys = tiedKeys
        self.width = width
    }
}
