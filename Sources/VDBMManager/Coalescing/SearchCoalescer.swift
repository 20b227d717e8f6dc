import CoreMetrics
import MilvusClient
import Synchronization
import VDBMDomain
import VDBMUtils

/// The I/O shell of search coalescing: it feeds `SearchCoalescerStateMachine` the events (a
/// search arrives, a batch's search ends, a caller is cancelled, the timer fires) and executes its
/// actions: a batch's Milvus search runs with every member's vectors, and the answer is cut back
/// into each member's own result sets. A search that leaves alone at once (an idle key) runs in
/// its caller's own task, with no hop to another thread; a batch that several callers share runs
/// in a task of its own, so that any of them can leave without stopping it for the others. State
/// is behind one lock, held for the decision and never across I/O or a resumption.
///
/// Generic over what a search carries: vdbm.v1 searches bring packed floats and get `SearchResults`
/// (one per query vector); pass-through searches bring Milvus placeholder values and get their
/// share of Milvus's answer. `Vectors` are concatenated in member order; the batch's answer has one
/// element per query vector, and each member gets its own run of them.
public final class SearchCoalescer<Key: Hashable & Sendable, Vectors: RangeReplaceableCollection & Sendable, Answer: Sendable>:
    Sendable {
    typealias Machine = SearchCoalescerStateMachine<Key>
    /// One Milvus search of `queries` query vectors: one answer per query vector.
    public typealias Search = @Sendable (_ vectors: Vectors, _ queries: Int, _ deadline: Deadline) async throws(VectorDBError)
        -> [Answer]
    private typealias Outcome = Result<[Answer], VectorDBError>
    private typealias Members = CoalescerMembers<Waiter, [Answer]>
    private typealias Resumption = Members.Resumption

    /// What a waiting search brought.
    private struct Waiter {
        var vectors: Vectors
        var queries: Int
        var search: Search
        var enqueuedAt: ContinuousClock.Instant
        /// The caller's trace context, for a merged search's span.
        var trace: TraceContext?
    }

    private struct Flight {
        /// Every member the batch was sent with, in order, with its number of query vectors.
        var members: [(id: Machine.MemberID, queries: Int)]
        /// `nil` when a caller runs the batch in its own task.
        var task: Task<Void, Never>?
    }

    private struct State {
        var machine: Machine
        var waiters = Members()
        var flights: [Machine.BatchID: Flight] = [:]
        /// Cancels the armed regroup timer.
        var cancelTimer: (@Sendable () -> Void)?
    }

    private let state: Mutex<State>
    /// For the metrics backend: Milvus searches sent (lone or merged), query vectors in each,
    /// and how long each search waited to leave (0 for one that left at once).
    private let batchesSent = Counter(label: "vdbm_search_batches_total")
    private let batchVectors = Recorder(label: "vdbm_search_batch_vectors")
    private let queueWait = Timer(label: "vdbm_search_queue_wait_seconds")

    private let scheduler: any SearchCoalescerScheduler

    public init(policy: SearchCoalescingPolicy, scheduler: any SearchCoalescerScheduler = TaskSearchScheduler()) {
        state = Mutex(State(machine: Machine(policy: policy)))
        self.scheduler = scheduler
    }

    /// Searches `vectors` (`queries` of them, packed) within `deadline`, in a batch with other
    /// searches of the same key when there are some; `search` runs the batch (any member's does:
    /// equal keys make them equivalent).
    public func search(key: Key, vectors: Vectors, queries: Int, deadline: Deadline,
                       search: @escaping Search) async throws(VectorDBError) -> [Answer] {
        let ticket = CoalescerTicket()
        do {
            return try await withTaskCancellationHandler {
                try await enter(key: key, vectors: vectors, queries: queries, deadline: deadline, search: search, ticket: ticket)
            } onCancel: {
                if let id = ticket.cancel() { event { $0.memberLeft(id, .cancelled) } }
            }
        } catch let error as VectorDBError {
            throw error
        } catch {
            throw .internal("search failed: \(error)")
        }
    }

    private enum Entry {
        case rejected(VectorDBError)
        /// The caller leaves alone at once and runs its batch itself.
        case alone(Machine.MemberID, Machine.BatchID, deadline: ContinuousClock.Instant)
        case waiting(Machine.MemberID)
    }

    private func enter(key: Key, vectors: Vectors, queries: Int, deadline: Deadline, search: @escaping Search,
                       ticket: CoalescerTicket) async throws -> [Answer] {
        var resumptions: [Resumption] = []
        let now = scheduler.now
        let entry = state.withLock { state -> Entry in
            switch state.machine.submit(key: key, vectors: queries, deadline: deadline.instant, now: now) {
            case .rejected:
                return .rejected(.resourceExhausted("search.max_queued_vectors (\(state.machine.policy.maxQueuedVectors)) query "
                                                    + "vectors already wait for Milvus: try again later"))
            case .accepted(let id, var actions):
                state.waiters.add(id, Waiter(vectors: vectors, queries: queries, search: search, enqueuedAt: now,
                                             trace: TraceContext.current))
                var alone: (Machine.BatchID, ContinuousClock.Instant)?
                if let index = actions.firstIndex(where: { if case .send(_, [id], _) = $0 { true } else { false } }),
                   case .send(let batch, _, let batchDeadline) = actions.remove(at: index) {
                    state.flights[batch] = Flight(members: [(id, queries)], task: nil)
                    alone = (batch, batchDeadline)
                }
                resumptions = execute(actions, outcome: nil, in: &state)
                if !ticket.enroll(id) {
                    resumptions += execute(state.machine.memberLeft(id, .cancelled), outcome: nil, in: &state)
                }
                if let (batch, batchDeadline) = alone { return .alone(id, batch, deadline: batchDeadline) }
                return .waiting(id)
            }
        }
        for resumption in resumptions { resumption.resume() }
        switch entry {
        case .rejected(let error):
            throw error
        case .alone(let id, let batch, let batchDeadline):
            batchesSent.increment()
            batchVectors.record(queries)
            queueWait.recordNanoseconds(0)
            // Cancelling this task cancels the search: it is the batch's only member.
            var outcome: Outcome = .failure(.cancelled("the search was cancelled"))
            if !Task.isCancelled {
                do throws(VectorDBError) {
                    outcome = .success(try await search(vectors, queries, Deadline(batchDeadline)))
                } catch {
                    outcome = .failure(error)
                }
            }
            finish(batch, outcome)
            let mine = state.withLock { $0.waiters.takeOutcome(id) }
            return try (mine ?? .failure(.internal("the search's answer was lost"))).get()
        case .waiting(let id):
            return try await Members.outcome(of: id, lost: "the search's answer was lost") { body in
                state.withLock { body(&$0.waiters) }
            }
        }
    }

    /// Waiting searches, and batches whose search has not finished (for tests and server info).
    public var snapshot: (members: Int, batches: Int, queuedVectors: Int) {
        state.withLock { ($0.machine.memberCount, $0.machine.batchesInFlight, $0.machine.queuedVectors) }
    }

    // MARK: Events

    private func event(outcome: Outcome? = nil, _ body: (inout Machine) -> [Machine.Action]) {
        let resumptions = state.withLock { state in execute(body(&state.machine), outcome: outcome, in: &state) }
        for resumption in resumptions { resumption.resume() }
    }

    private func finish(_ batch: Machine.BatchID, _ outcome: Outcome) {
        let now = scheduler.now
        event(outcome: outcome) { $0.batchFinished(batch, now: now) }
    }

    // MARK: Actions

    /// Runs the actions under the lock; what resumes a caller is returned, to run after it.
    private func execute(_ actions: [Machine.Action], outcome: Outcome?,
                         in state: inout State) -> [Resumption] {
        var resumptions: [Resumption] = []
        for action in actions {
            switch action {
            case .send(let batch, let members, let deadline):
                let waiters = members.compactMap { state.waiters[$0] }
                guard let search = waiters.first?.search else { continue }  // (every member of a send waits)
                var vectors = Vectors()
                vectors.reserveCapacity(waiters.reduce(0) { $0 + $1.vectors.count })
                for waiter in waiters { vectors += waiter.vectors }
                let queries = waiters.reduce(0) { $0 + $1.queries }
                batchesSent.increment()
                batchVectors.record(queries)
                let now = scheduler.now
                for waiter in waiters {
                    let (seconds, attoseconds) = waiter.enqueuedAt.duration(to: now).components
                    queueWait.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
                }
                // A closure, not a key path: a key path to a private property keeps this function
                // from being exported for cross-module specialization (pass-through batches then
                // ran it unspecialized: +13% vdbm CPU per search at 32 callers, bench-compare).
                let trace = BatchTrace(name: "vdbm.search.batch", members: waiters.map { $0.trace },
                                       attributes: [("vdbm.batch.vectors", .int(Int64(queries)))])
                let task = Task(executorPreference: scheduler.executorForBatch()) { [weak self] in
                    let outcome = await trace.search(search, vectors, queries, Deadline(deadline))
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
                    guard let range = offsets[member] else { continue }
                    let result = outcome.flatMap { results -> Outcome in
                        guard results.count == start else {
                            return .failure(.internal("Milvus answered \(results.count) result sets for \(start) query vectors"))
                        }
                        return .success(Array(results[range]))
                    }
                    resumptions += answer(member, result, in: &state)
                }
            case .fail(let member, let departure):
                let error: VectorDBError = switch departure {
                case .cancelled: .cancelled("the search was cancelled")
                case .deadlineExceeded: .deadlineExceeded("the search's deadline passed while it waited for Milvus")
                }
                resumptions += answer(member, .failure(error), in: &state)
            case .cancel(let batch):
                state.flights[batch]?.task?.cancel()
            case .armTimer(let instant):
                state.cancelTimer?()
                let scheduler = self.scheduler
                state.cancelTimer = scheduler.schedule(at: instant) { [weak self] in
                    let now = scheduler.now
                    self?.event { $0.timerFired(now: now) }
                }
            }
        }
        return resumptions
    }

    /// Hands `result` to the member: resumes it when it is suspended, keeps it for it otherwise.
    private func answer(_ member: Machine.MemberID, _ result: Outcome, in state: inout State) -> [Resumption] {
        state.waiters.answer(member, result).map { [$0] } ?? []
    }
}
