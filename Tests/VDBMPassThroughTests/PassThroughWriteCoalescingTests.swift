import Synchronization
import Testing
import VDBMDomain
import VDBMManager
import VDBMProtobuf
import VDBMUtils
@testable import VDBMPassThrough

/// Plays Milvus for pass-through inserts: answers each insert with the ids it carried, after a
/// while (so that concurrent callers pile up behind the first), or as `refuse` and `fail` say.
private final class InsertingMilvus: Sendable {
    /// Rows per insert received.
    let inserts = Mutex<[Int]>([])
    let refuseMerged: Bool
    let failMerged: VectorDBError?

    init(refuseMerged: Bool = false, failMerged: VectorDBError? = nil) {
        self.refuseMerged = refuseMerged
        self.failMerged = failMerged
    }

    func send(_ request: [UInt8], _ deadline: Deadline) async throws(VectorDBError) -> [UInt8] {
        guard let parts = MilvusInsertRequestParts(request: request),
              case .int64s(let ids) = parts.columns.first(where: { $0.name == "id" })?.values else { return request }
        inserts.withLock { $0.append(ids.count) }
        try? await Task.sleep(for: .milliseconds(100))
        if ids.count > 1, let failMerged { throw failMerged }
        if ids.count > 1 && refuseMerged {
            return MilvusResponse.Mutation(status: MilvusStatus(reason: "bad row", code: 1100), ids: .int64s([]),
                                           insertCount: 0, deleteCount: 0, upsertCount: 0).serializedBytes()
        }
        return MilvusResponse.Mutation(status: .success, ids: .int64s(ids), insertCount: Int64(ids.count), deleteCount: 0,
                                       upsertCount: 0).serializedBytes(timestamp: 4242)
    }
}

@Suite struct PassThroughWriteCoalescingTests {
    private static let policy = WriteCoalescingPolicy(maxBatchRows: 512, maxBatchBytes: 1 << 20, maxInflightBatches: 1,
                                                       maxQueuedRows: 10_000)

    private func request(_ id: Int64) -> [UInt8] {
        MilvusRequest.insert("docs", fields: [MilvusFieldData(name: "id", dataType: 5, values: .int64s([id])),
                                              MilvusFieldData(name: "v", dataType: 101,
                                                              values: .floatVectors(dimension: 2, values: [Float(id), 1]))])
    }

    /// Eight callers at once, the first one alone (Milvus is idle), the others behind it.
    private func insertAll(_ milvus: InsertingMilvus, _ coalescer: PassThroughWriteCoalescer, callers: Int = 8)
        async -> [Int64: Result<MilvusResponse.Mutation, VectorDBError>] {
        await withTaskGroup(of: (Int64, Result<MilvusResponse.Mutation, VectorDBError>).self) { group in
            for id in 0..<Int64(callers) {
                group.addTask {
                    do {
                        let answer = try await coalescer.insert(request(id), context: [], deadline: .after(.seconds(10)),
                                                                send: milvus.send)
                        return (id, .success(try MilvusResponse.Mutation(serializedBytes: answer)))
                    } catch let error as VectorDBError {
                        return (id, .failure(error))
                    } catch {
                        return (id, .failure(.internal("\(error)")))
                    }
                }
                if id == 0 {  // the first is under way before the others come
                    for _ in 0..<500 where milvus.inserts.withLock({ $0.isEmpty }) { try? await Task.sleep(for: .milliseconds(2)) }
                }
            }
            return await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
    }

    @Test func concurrentInsertsLeaveAsOneMilvusInsertAndEachGetsItsOwnIds() async throws {
        let milvus = InsertingMilvus()
        let answers = await insertAll(milvus, PassThroughWriteCoalescer(policy: Self.policy))
        for id in 0..<Int64(8) {
            let answer = try #require(try? answers[id]?.get())
            #expect(answer.ids == .int64s([id]) && answer.insertCount == 1 && answer.status.isSuccess)
        }
        #expect(milvus.inserts.withLock { $0 } == [1, 7])
    }

    @Test func aMergedInsertMilvusRefusesIsSentAgainMemberByMember() async throws {
        let milvus = InsertingMilvus(refuseMerged: true)
        let answers = await insertAll(milvus, PassThroughWriteCoalescer(policy: Self.policy))
        for id in 0..<Int64(8) {
            #expect((try? answers[id]?.get())?.ids == .int64s([id]))
        }
        #expect(milvus.inserts.withLock { $0 } == [1, 7] + Array(repeating: 1, count: 7))
    }

    @Test func aMergedInsertWhoseOutcomeIsUnknownFailsEveryMemberAndIsNeverSentAgain() async throws {
        let milvus = InsertingMilvus(failMerged: .unavailable("connection lost after sending"))
        let answers = await insertAll(milvus, PassThroughWriteCoalescer(policy: Self.policy))
        #expect((try? answers[0]?.get())?.ids == .int64s([0]))
        for id in 1..<Int64(8) {
            guard case .failure(.unavailable) = answers[id] else {
                Issue.record("caller \(id): \(String(describing: answers[id]))")
                continue
            }
        }
        #expect(milvus.inserts.withLock { $0 } == [1, 7])
    }

    @Test func anInsertThatCannotBeMergedGoesAloneUntouched() async throws {
        let coalescer = PassThroughWriteCoalescer(policy: Self.policy)
        let sent = Mutex<[[UInt8]]>([])
        let odd: [UInt8] = [0x0A, 0x01, 0x41]  // db_name "A", and no rows
        let answer = try await coalescer.insert(odd, context: [], deadline: .after(.seconds(5))) { request, _ in
            sent.withLock { $0.append(request) }
            return [7]
        }
        #expect(answer == [7] && sent.withLock { $0 } == [odd])
        #expect(coalescer.snapshot.sent == 0)
    }
}
