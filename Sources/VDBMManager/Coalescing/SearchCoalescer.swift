import MilvusClient
import Synchronization
import VDBMDomain
import VDBMUtils

/// The I/O shell of search coalescing: it feeds `SearchCoalescerStateMachine` the events (a
/// search arrives, a batch's search ends, a caller is cancelled, the timer fires) and executes its
/// actions: one task per batch runs the Milvus search with every member's vectors, and the
/// answer is cut back into each member's own result sets. State is behind one lock, held for
/// the decision and never across I/O or a resumption.
final class SearchCoalescer: Sendable {
    typealias Machine = SearchCoalescerStateMachine<SearchBatchKey>
    /// One Milvus search of `queries` packed query vectors: one result set per query vector.
    typealias Search = @Sendable (_ vectors: [Float], _ queries: Int, _ deadline: Deadline) async throws(VectorDBError)
        -> [SearchResults]
    private typealias Continuation = CheckedContinuation<[SearchResults], any Error>

    private struct Waiter {
        var continuation: Continuation
        var vectors: [Float]
        var queries: Int
        var search: Search
    }

    private struct Flight {
        /// Every member the batch was sent with, in order, with its number of query vectors.
        var members: [(id: Machine.MemberID, queries: Int)]
        var task: Task<Void, Never>?
    }

    private struct State {
        var machine: Machine
        var waiters: [Machine.MemberID: Waiter] = [:]
        var flights: [Machine.BatchID: Flight] = [:]
        var timer: Task<Void, Never>?
    }

    private let state: Mutex<State>

    init(policy: Machine.Policy) {
        state = Mutex(State(machine: Machine(policy: policy)))
    }

    /// Searches `vectors` (`queries` of them, packed) within `deadline`, in a batch with other
    /// searches of the same key when there are some; `search` runs the batch (any member's does:
    /// equal keys make them equivalent).
    func search(key: SearchBatchKey, vectors: [Float], queries: Int, deadline: Deadline,
                search: @escaping Search) async throws(VectorDBError) -> [SearchResults] {
        let ticket = Ticket()
        do {
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: Continuation) in
                    let resumptions = state.withLock { state -> [Resumption] in
                        switch state.machine.submit(key: key, vectors: queries, deadline: deadline.instant, now: .now) {
                        case .rejected:
                            return [Resumption(continuation: continuation, result: .failure(.resourceExhausted(
                                "search.max_queued_vectors (\(state.machine.policy.maxQueuedVectors)) query vectors already "
                                    + "wait for Milvus: try again later")))]
                        case .accepted(let id, let actions):
                            state.waiters[id] = Waiter(continuation: continuation, vectors: vectors, queries: queries, search: search)
                            var resumptions = execute(actions, outcome: nil, in: &state)
                            if !ticket.enroll(id) {
                                resumptions += execute(state.machine.memberLeft(id, .cancelled), outcome: nil, in: &state)
                            }
                            return resumptions
                        }
                    }
                    for resumption in resumptions { resumption.resume() }
                }
            } onCancel: {
                if let id = ticket.cancel() { event { $0.memberLeft(id, .cancelled) } }
            }
        } catch let error as VectorDBError {
            throw error
        } catch {
            throw .internal("search failed: \(error)")
        }
    }

    /// Waiting searches, and batches whose search has not finished (for tests and server info).
    var snapshot: (members: Int, batches: Int, queuedVectors: Int) {
        state.withLock { ($0.machine.memberCount, $0.machine.batchesInFlight, $0.machine.queuedVectors) }
    }

    // MARK: Events

    private func event(outcome: Result<[SearchResults], VectorDBError>? = nil, _ body: (inout Machine) -> [Machine.Action]) {
        let resumptions = state.withLock { state in execute(body(&state.machine), outcome: outcome, in: &state) }
        for resumption in resumptions { resumption.resume() }
    }

    private func finish(_ batch: Machine.BatchID, _ outcome: Result<[SearchResults], VectorDBError>) {
        event(outcome: outcome) { $0.batchFinished(batch) }
    }

    // MARK: Actions

    /// A continuation to resume once the lock is released.
    private struct Resumption {
        var continuation: Continuation
        var result: Result<[SearchResults], VectorDBError>

        func resume() { continuation.resume(with: result.mapError { $0 }) }
    }

    /// Runs the actions under the lock; what resumes a caller is returned, to run after it.
    private func execute(_ actions: [Machine.Action], outcome: Result<[SearchResults], VectorDBError>?,
                         in state: inout State) -> [Resumption] {
        var resumptions: [Resumption] = []
        for action in actions {
            switch action {
            case .send(let batch, let members, let deadline):
                let waiters = members.compactMap { state.waiters[$0] }
                var vectors: [Float] = []
                vectors.reserveCapacity(waiters.reduce(0) { $0 + $1.vectors.count })
                for waiter in waiters { vectors += waiter.vectors }
                let queries = waiters.reduce(0) { $0 + $1.queries }
                let search = waiters[0].search
                let task = Task { [weak self] in
                    let outcome: Result<[SearchResults], VectorDBError>
                    do throws(VectorDBError) {
                        outcome = .success(try await search(vectors, queries, Deadline(deadline)))
                    } catch {
                        outcome = .failure(error)
                    }
                    self?.finish(batch, outcome)
                }
                state.flights[batch] = Flight(members: waiters.indices.map { (members[$0], waiters[$0].queries) }, task: task)
            case .deliver(let batch, let members):
                guard let flight = state.flights.removeValue(forKey: batch), let outcome else { continue }
                var offsets: [Machine.MemberID: Range<Int>] = [:]
                var start = 0
                for member in flight.members {
                    offsets[member.id] = start..<(start + member.queries)
                    start += member.queries
                }
                for member in members {
                    guard let waiter = state.waiters.removeValue(forKey: member), let range = offsets[member] else { continue }
                    let result = outcome.flatMap { results -> Result<[SearchResults], VectorDBError> in
                        guard results.count == start else {
                            return .failure(.internal("Milvus answered \(results.count) result sets for \(start) query vectors"))
                        }
                        return .success(Array(results[range]))
                    }
                    resumptions.append(Resumption(continuation: waiter.continuation, result: result))
                }
            case .fail(let member, let departure):
                guard let waiter = state.waiters.removeValue(forKey: member) else { continue }
                let error: VectorDBError = switch departure {
                case .cancelled: .cancelled("the search was cancelled")
                case .deadlineExceeded: .deadlineExceeded("the search's deadline passed while it waited for Milvus")
                }
                resumptions.append(Resumption(continuation: waiter.continuation, result: .failure(error)))
            case .cancel(let batch):
                state.flights[batch]?.task?.cancel()
            case .armTimer(let instant):
                state.timer?.cancel()
                state.timer = Task { [weak self] in
                    try? await Task.sleep(until: instant, clock: .continuous)
                    guard !Task.isCancelled else { return }
                    self?.event { $0.timerFired(now: .now) }
                }
            }
        }
        return resumptions
    }

    /// Which member a caller became, so that its cancellation handler (which may run at any
    /// moment, even before the caller is enrolled) can find it.
    private final class Ticket: Sendable {
        private enum Phase { case pending, member(Machine.MemberID), cancelled }
        private let phase = Mutex(Phase.pending)

        /// Records the member; false when the caller was cancelled first.
        func enroll(_ id: Machine.MemberID) -> Bool {
            phase.withLock { phase in
                if case .cancelled = phase { return false }
                phase = .member(id)
                return true
            }
        }

        /// The member to remove, if the caller was enrolled already.
        func cancel() -> Machine.MemberID? {
            phase.withLock { phase in
                if case .member(let id) = phase { return id }
                phase = .cancelled
                return nil
            }
        }
    }
}
