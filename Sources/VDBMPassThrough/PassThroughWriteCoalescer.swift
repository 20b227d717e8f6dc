import MilvusClient
import VDBMDomain
import VDBMManager
import VDBMProtobuf
import VDBMUtils

/// Write coalescing for Milvus `Insert` calls that an unmodified SDK sends through vdbm (the
/// pass-through): concurrent inserts whose requests differ only in their rows leave as one Milvus
/// insert, and Milvus's answer is cut back into each caller's own `MutationResult` (its ids, its
/// count, the insert's timestamp). The same policy and state machine as vdbm.v1 writes, in a
/// coalescer of its own.
///
/// An insert alone in its batch is sent as the client sent it; one that cannot be merged (see
/// `MilvusInsertRequestParts`) goes on alone, untouched. When Milvus refuses a merged insert (its
/// status says it wrote nothing), each member is sent again on its own, for its own answer. When
/// the outcome is not known (no answer, a deadline, an answer that does not add up), every member
/// fails and nothing is sent again: a write is never sent twice on a guess. Upserts are not
/// merged: keeping two callers' rows with one primary key apart needs the collection's schema,
/// which the pass-through does not read.
public final class PassThroughWriteCoalescer: Sendable {
    /// Sends one Milvus `InsertRequest` (as bytes) within the deadline; answers Milvus's bytes.
    public typealias Send = @Sendable (_ request: [UInt8], _ deadline: Deadline) async throws(VectorDBError) -> [UInt8]

    private let coalescer: WriteCoalescer<PassThroughSearchCoalescer.Key, Member, [UInt8]>

    public init(policy: WriteCoalescingPolicy, scheduler: any SearchCoalescerScheduler = TaskSearchScheduler()) {
        coalescer = WriteCoalescer(policy: policy, scheduler: scheduler)
    }

    /// One caller's insert, as it joins a batch.
    struct Member: Sendable {
        var parts: MilvusInsertRequestParts
        var request: [UInt8]
        var send: Send
    }

    /// Inserts with `request` (a Milvus `InsertRequest`), in a batch with other inserts whose
    /// request and `context` (what else decides where the rows go: database, credentials,
    /// metadata) are equal. `send` calls Milvus with this caller's metadata and credentials.
    public func insert(_ request: [UInt8], context: [UInt8], deadline: Deadline,
                       send: @escaping Send) async throws(VectorDBError) -> [UInt8] {
        guard let parts = MilvusInsertRequestParts(request: request) else { return try await send(request, deadline) }
        return try await coalescer.write(
            key: .init(parts.key + context), rows: Member(parts: parts, request: request, send: send), rowCount: parts.rows,
            bytes: WriteMerging.bytes(parts.columns), deadline: deadline) { members, deadline in
            await Self.run(members, deadline: deadline)
        }
    }

    /// One Milvus insert for a batch: the lone member's own request, or one of every member's rows.
    static func run(_ members: [Member], deadline: Deadline) async -> [Result<[UInt8], VectorDBError>] {
        guard let first = members.first else { return [] }
        guard members.count > 1 else { return [await Self.alone(first, deadline: deadline)] }
        let rows = members.map(\.parts.rows)
        let columns = WriteMerging.merged(members.map { WriteRows(columns: $0.parts.columns, count: $0.parts.rows) })
        guard let merged = first.parts.merged(columns: columns, rows: rows.reduce(0, +)) else {
            return await each(members, deadline: deadline)
        }
        let answer: [UInt8]
        do {
            answer = try await first.send(merged, deadline)
        } catch {
            // Refused before Milvus took any row (a bad request): each alone; otherwise unknown.
            if WriteMerging.isRefusal(error) { return await each(members, deadline: deadline) }
            return members.map { _ in .failure(error) }
        }
        switch MilvusMergedMutation.read(answer, rows: rows) {
        case .cut(let answers):
            return answers.map { .success($0) }
        case .refused:
            return await each(members, deadline: deadline)
        case .unknown(let reason):
            return members.map { _ in .failure(.internal("\(reason): its rows may have been written")) }
        }
    }

    private static func alone(_ member: Member, deadline: Deadline) async -> Result<[UInt8], VectorDBError> {
        do {
            return .success(try await member.send(member.request, deadline))
        } catch {
            return .failure(error)
        }
    }

    /// Every member sent again on its own, at once, each for its own answer.
    private static func each(_ members: [Member], deadline: Deadline) async -> [Result<[UInt8], VectorDBError>] {
        await withTaskGroup(of: (Int, Result<[UInt8], VectorDBError>).self) { group in
            for (index, member) in members.enumerated() {
                group.addTask { (index, await alone(member, deadline: deadline)) }
            }
            var outcomes = [Result<[UInt8], VectorDBError>](repeating: .failure(.internal("lost")), count: members.count)
            for await (index, outcome) in group { outcomes[index] = outcome }
            return outcomes
        }
    }

    /// Members queued or in flight, batches in flight, rows queued and Milvus inserts started.
    public var snapshot: (members: Int, batches: Int, queuedRows: Int, sent: Int) { coalescer.snapshot }
}
