import VDBMDomain

/// The members of a coalescer (searches or writes) that wait for their outcome, each with what it
/// brought (`Payload`) and where its outcome goes: the caller's continuation once it has
/// suspended, or, when the outcome comes first, kept until it does. Lives in the coalescer's
/// locked state; continuations are handed back as `Resumption`s, to resume after the lock is
/// released.
struct CoalescerMembers<Payload, Value: Sendable> {
    typealias Outcome = Result<Value, VectorDBError>
    typealias Continuation = CheckedContinuation<Value, any Error>

    /// A continuation to resume once the lock is released.
    struct Resumption {
        let continuation: Continuation
        let outcome: Outcome

        func resume() { continuation.resume(with: outcome.mapError { $0 }) }
    }

    private struct Member {
        var payload: Payload
        /// `nil` until the caller suspends (or for good, when it runs its batch itself).
        var continuation: Continuation?
        /// An outcome that came before the continuation did (the first one counts).
        var early: Outcome?
    }

    private var members: [Int: Member] = [:]

    /// What member `id` brought, while it waits.
    subscript(id: Int) -> Payload? { members[id]?.payload }

    mutating func add(_ id: Int, _ payload: Payload) {
        members[id] = Member(payload: payload)
    }

    /// Hands `outcome` to member `id`: the resumption when the caller has suspended (the member
    /// leaves), else the outcome is kept for it.
    mutating func answer(_ id: Int, _ outcome: Outcome) -> Resumption? {
        guard let member = members[id] else { return nil }
        guard let continuation = member.continuation else {
            if member.early == nil { members[id]?.early = outcome }
            return nil
        }
        members[id] = nil
        return Resumption(continuation: continuation, outcome: outcome)
    }

    /// The outcome member `id` got while it ran its own batch; the member leaves.
    mutating func takeOutcome(_ id: Int) -> Outcome? {
        members.removeValue(forKey: id)?.early
    }

    /// The caller of member `id` suspends with `continuation`: the outcome that came first (the
    /// member leaves; resume at once), a failure when the member is gone, or nil once parked.
    mutating func park(_ id: Int, _ continuation: Continuation, lost: String) -> Outcome? {
        guard let member = members[id] else { return .failure(.internal(lost)) }
        if let early = member.early {
            members[id] = nil
            return early
        }
        members[id]?.continuation = continuation
        return nil
    }

    /// Suspends the caller of member `id` until its outcome. `locked` runs its body on the
    /// members under the coalescer's lock; the caller is resumed outside it.
    static func outcome(of id: Int, lost: String,
                        _ locked: ((inout CoalescerMembers) -> Outcome?) -> Outcome?) async throws -> Value {
        try await withCheckedThrowingContinuation { (continuation: Continuation) in
            let early = locked { $0.park(id, continuation, lost: lost) }
            if let early { continuation.resume(with: early.mapError { $0 }) }
        }
    }
}
