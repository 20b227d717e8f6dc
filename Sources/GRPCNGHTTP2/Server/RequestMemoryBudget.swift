import Synchronization

/// The bytes of request messages that all connections of a server may hold at once. Each limit
/// per message and per connection is not enough: many large uploads together could still exhaust
/// memory. A call that would cross the limit is answered `RESOURCE_EXHAUSTED`; its bytes, and
/// those of every finished call, are given back.
final class RequestMemoryBudget: Sendable {
    let limit: Int
    private let used = Atomic<Int>(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// Takes `count` bytes if they fit under the limit.
    func reserve(_ count: Int) -> Bool {
        let total = used.wrappingAdd(count, ordering: .relaxed).newValue
        if total > limit {
            used.wrappingSubtract(count, ordering: .relaxed)
            return false
        }
        return true
    }

    func release(_ count: Int) {
        guard count > 0 else { return }
        used.wrappingSubtract(count, ordering: .relaxed)
    }

    var inUse: Int { used.load(ordering: .relaxed) }
}
