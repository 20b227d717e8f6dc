import Synchronization

/// Which member a caller of a coalescer (searches or writes) became, so that its cancellation
/// handler, which may run at any moment, even before the caller is enrolled, can find it.
final class CoalescerTicket: Sendable {
    private enum Phase { case pending, member(Int), cancelled }
    private let phase = Mutex(Phase.pending)

    /// Records the member; false when the caller was cancelled first.
    func enroll(_ id: Int) -> Bool {
        phase.withLock { phase in
            if case .cancelled = phase { return false }
            phase = .member(id)
            return true
        }
    }

    /// The member to remove, if the caller was enrolled already.
    func cancel() -> Int? {
        phase.withLock { phase in
            if case .member(let id) = phase { return id }
            phase = .cancelled
            return nil
        }
    }
}
