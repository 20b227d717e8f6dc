import CoreMetrics
import Synchronization
import VDBMDomain
import VDBMUtils

/// The I/O shell of write coalescing: it feeds `WriteCoalescerStateMachine` its events (a write
/// arrives, a batch's write ends, a caller is cancelled, the timer fires) and executes its
/// actions. A write that leaves alone at once (an idle key) runs in its caller's own task, as an
/// uncoalesced write would; a batch of several runs in a task of its own, which no caller can
/// cancel: once sent, a write is not recalled. State is behind one lock, held for the decision,
/// never across I/O or a resumption.
///
/// Generic over what a member carries (`Rows`) and gets (`Answer`): the batch's `Write` receives
/// every member's rows in order and returns one outcome per member, so it decides how a merged
/// answer is cut, and what happens when Milvus refuses the merged write.
public final class WriteCoalescer<Key: Hashable & Sendable, Rows: Sendable, Answer: Sendable>: Sendable {
    typealias Machine = WriteCoalescerStateMachine<Key>
    public typealias Outcome = Result<Answer, VectorDBError>
    /// One Milvus write of the members' rows, in order, by `deadline`: one outcome per member.
    public typealias Write = @Sendable (_ members: [Rows], _ deadline: Deadline) async -> [Outcome]
    private typealias Members = CoalescerMembers<Waiter, Answer>
    private typealias Resumption = Members.Resumption

    /// What a waiting write brought.
    private struct Waiter {
        var rows: Rows
        var rowCount: Int
        var write: Write
        /// The caller's trace context, for a merged write's span.
        var trace: TraceContext?
    }

    private struct State {
        var machine: Machine
        var waiters = Members()
        /// Each batch's members in the order of its outcomes.
        var flights: [Machine.BatchID: [Machine.MemberID]] = [:]
        var cancelTimer: (@Sendable () -> Void)?
        /// Milvus writes started, lone or merged.
        var sent = 0
    }

    private let state: Mutex<State>
    private let scheduler: any SearchCoalescerScheduler
    /// Milvus writes sent (lone or merged) and the rows in each.
    private let batchesSent = Counter(label: "vdbm_write_batches_total")
    private let batchRows = Recorder(label: "vdbm_write_batch_rows")

    public init(policy: WriteCoalescingPolicy, scheduler: any SearchCoalescerScheduler = TaskSearchScheduler()) {
        state = Mutex(State(machine: Machine(policy: policy)))
        self.scheduler = scheduler
    }

    /// Writes `rows` (`rowCount` rows, `bytes` of data) by `deadline`, in one Milvus write with
    /// other writes of the same key when some wait; `write` runs the batch (any member's does:
    /// equal keys make them equivalent). `conflictKeys` (hashes of the rows' primary keys) keep
    /// upserts of the same key apart and in call order.
    public func write(key: Key, rows: Rows, rowCount: Int, bytes: Int, conflictKeys: Set<Int>? = nil, deadline: Deadline,
               write: @escaping Write) async throws(VectorDBError) -> Answer {
        let ticket = CoalescerTicket()
        do {
            return try await withTaskCancellationHandler {
                try await enter(key: key, rows: rows, rowCount: rowCount, bytes: bytes, conflictKeys: conflictKeys,
                                deadline: deadline, write: write, ticket: ticket)
            } onCancel: {
                if let id = ticket.cancel() { event { $0.memberLeft(id, .cancelled) } }
            }
        } catch let error as VectorDBError {
            throw error
        } catch {
            throw .internal("write failed: \(error)")
        }
    }

    /// Members queued or in flight, batches in flight, rows queued and Milvus writes started.
    public var snapshot: (members: Int, batches: Int, queuedRows: Int, sent: Int) {
        state.withLock { ($0.machine.memberCount, $0.machine.batchesInFlight, $0.machine.queuedRows, $0.sent) }
    }

    private enum Entry {
        case rejected(VectorDBError)
        case alone(Machine.MemberID, Machine.BatchID, deadline: ContinuousClock.Instant)
        case waiting(Machine.MemberID)
    }

    private func enter(key: Key, rows: Rows, rowCount: Int, bytes: Int, conflictKeys: Set<Int>?, deadline: Deadline,
                       write: @escaping Write, ticket: CoalescerTicket) async throws -> Answer {
        var resumptions: [Resumption] = []
        let now = scheduler.now
        let entry = state.withLock { state -> Entry in
            switch state.machine.submit(key: key, rows: rowCount, bytes: bytes, conflictKeys: conflictKeys,
                                        deadline: deadline.instant, now: now) {
            case .rejected:
                return .rejected(.resourceExhausted("writes.max_queued_rows (\(state.machine.policy.maxQueuedRows)) rows "
                                                    + "already wait for Milvus: try again later"))
            case .accepted(let id, var actions):
                state.waiters.add(id, Waiter(rows: rows, rowCount: rowCount, write: write, trace: TraceContext.current))
                var alone: (Machine.BatchID, ContinuousClock.Instant)?
                if let index = actions.firstIndex(where: { if case .send(_, [id], _) = $0 { true } else { false } }),
                   case .send(let batch, _, let batchDeadline) = actions.remove(at: index) {
                    state.flights[batch] = [id]
                    state.sent += 1
                    alone = (batch, batchDeadline)
                }
                resumptions = execute(actions, outcomes: nil, in: &state)
                if !ticket.enroll(id) {
                    resumptions += execute(state.machine.memberLeft(id, .cancelled), outcomes: nil, in: &state)
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
            batchRows.record(rowCount)
            // The batch's only member: cancelling this task cancels its write, as without coalescing.
            let outcomes: [Outcome] = Task.isCancelled
                ? [.failure(.cancelled("the write was cancelled before it was sent"))]
                : await write([rows], Deadline(batchDeadline))
            finish(batch, outcomes)
            let mine = state.withLock { $0.waiters.takeOutcome(id) }
            return try (mine ?? .failure(.internal("the write's answer was lost"))).get()
        case .waiting(let id):
            return try await Members.outcome(of: id, lost: "the write's answer was lost") { body in
                state.withLock { body(&$0.waiters) }
            }
        }
    }

    // MARK: Events

    private func event(outcomes: [Outcome]? = nil, _ body: (inout Machine) -> [Machine.Action]) {
        let resumptions = state.withLock { state in execute(body(&state.machine), outcomes: outcomes, in: &state) }
        for resumption in resumptions { resumption.resume() }
    }

    private func finish(_ batch: Machine.BatchID, _ outcomes: [Outcome]) {
        event(outcomes: outcomes) { $0.batchFinished(batch) }
    }

    // MARK: Actions

    private func execute(_ actions: [Machine.Action], outcomes: [Outcome]?, in state: inout State) -> [Resumption] {
        var resumptions: [Resumption] = []
        for action in actions {
            switch action {
            case .send(let batch, let members, let deadline):
                let waiters = members.compactMap { state.waiters[$0] }
                guard let write = waiters.first?.write else { continue }  // (every member of a send waits)
                let rows = waiters.map { $0.rows }  // (no key paths here: see SearchCoalescer.execute)
                state.flights[batch] = members
                state.sent += 1
                batchesSent.increment()
                let rowCount = waiters.reduce(0) { $0 + $1.rowCount }
                batchRows.record(rowCount)
                let trace = BatchTrace(name: "vdbm.write.batch", members: waiters.map { $0.trace },
                                       attributes: [("vdbm.batch.rows", .int(Int64(rowCount)))])
                Task(executorPreference: scheduler.executorForBatch()) { [weak self] in
                    let outcomes = await trace.write(write, rows, Deadline(deadline))
                    self?.finish(batch, outcomes)
                }
            case .deliver(let batch, let members):
                guard let order = state.flights.removeValue(forKey: batch), let outcomes else { continue }
                for member in members {
                    guard let index = order.firstIndex(of: member) else { continue }
                    let outcome: Outcome = outcomes.count == order.count ? outcomes[index]
                        : .failure(.internal("a merged write gave \(outcomes.count) answers for \(order.count) callers"))
                    resumptions += answer(member, outcome, in: &state)
                }
            case .fail(let member, let departure, let sent):
                let error: VectorDBError = switch (departure, sent) {
                case (.cancelled, false): .cancelled("the write was cancelled before it was sent: nothing was written")
                case (.cancelled, true): .cancelled("the write was cancelled after it was sent to Milvus: its rows may have been written")
                case (.deadlineExceeded, false):
                    .deadlineExceeded("the write's deadline passed while it waited for Milvus: nothing was written")
                case (.deadlineExceeded, true):
                    .deadlineExceeded("the write's deadline passed after it was sent to Milvus: its rows may have been written")
                }
                resumptions += answer(member, .failure(error), in: &state)
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

    /// Hands `outcome` to the member: resumes it when it is suspended, keeps it for it otherwise.
    private func answer(_ member: Machine.MemberID, _ outcome: Outcome, in state: inout State) -> [Resumption] {
        state.waiters.answer(member, outcome).map { [$0] } ?? []
    }
}
