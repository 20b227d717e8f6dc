import Logging
import MilvusClient
import Synchronization
import Testing
import VDBMDomain
import VDBMProtobuf
import VDBMUtils
@testable import VDBMManager

/// Write coalescing through the manager, with a mock Milvus that holds the first write until the
/// test lets it go, so that the writes behind it pile up and leave as one.
@Suite struct WriteCoalescingTests {
    private var deadline: Deadline { .after(.seconds(10)) }

    /// Opened once; every write that comes before waits for it.
    private final class Gate: Sendable {
        private let opened = Atomic<Bool>(false)
        func open() { opened.store(true, ordering: .sequentiallyConsistent) }
        func pass() async {
            while !opened.load(ordering: .sequentiallyConsistent) { try? await Task.sleep(for: .milliseconds(2)) }
        }
    }

    private static let policy = WriteCoalescingPolicy(maxBatchRows: 512, maxBatchBytes: 1 << 20, maxInflightBatches: 1,
                                                       maxQueuedRows: 10_000)

    /// A manager over a mock whose writes wait at `gate` and then answer with `answer` (by default
    /// Milvus's: the ids sent, or 1000... for auto ids).
    private func manager(autoID: Bool = false, gate: Gate,
                         answer: (@Sendable ([MilvusFieldData], Bool) throws(VectorDBError) -> MilvusResponse.Mutation)? = nil)
        async throws -> (MockMilvus, VectorDBManager) {
        let milvus = MockMilvus()
        let counter = Atomic<Int64>(1000)
        milvus.state.withLock { state in
            state.insertHandler = { fields, upsert throws(VectorDBError) in
                await gate.pass()
                if let answer { return try answer(fields, upsert) }
                let rows = Int64(fields.first?.rowCount ?? 0)
                let ids: MilvusIDs
                if case .int64s(let sent) = fields.first(where: { $0.name == "id" })?.values {
                    ids = .int64s(sent)
                } else {
                    let first = counter.add(rows, ordering: .relaxed).oldValue
                    ids = .int64s(Array(first..<(first + rows)))
                }
                return MilvusResponse.Mutation(status: .success, ids: ids, insertCount: upsert ? 0 : rows, deleteCount: 0,
                                               upsertCount: upsert ? rows : 0)
            }
        }
        let manager = VectorDBManager(milvus: milvus, logger: Logger(label: "test"), writeCoalescing: Self.policy)
        try await manager.createCollection(CollectionSpec(name: "docs", dimension: 2, primaryKey: .int64(autoID: autoID)), deadline: deadline)
        return (milvus, manager)
    }

    private func row(_ id: Int64?, bad: Bool = false) -> Entities {
        var columns: [String: FieldValues] = ["vector": .floatVectors(dimension: 2, values: [bad ? -1 : Float(id ?? 0), 0.5])]
        if let id { columns["id"] = .int64s([id]) }
        return Entities(columns)
    }

    /// Starts write 0 and waits until it is in flight (held at the gate), then writes 1...count,
    /// which queue behind it; returns once they all wait.
    private func pileUp<T: Sendable>(_ manager: VectorDBManager, _ count: Int,
                                     _ body: @escaping @Sendable (Int) async throws -> T) async throws -> [Task<T, any Error>] {
        func until(_ members: Int) async throws {
            for _ in 0..<1000 where (manager.writeCoalescing?.members ?? 0) < members {
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(manager.writeCoalescing?.members == members)
        }
        let first = Task { try await body(0) }
        try await until(1)
        let tasks = [first] + (1...count).map { index in Task { try await body(index) } }
        try await until(count + 1)
        return tasks
    }

    private func inserts(_ milvus: MockMilvus) -> [[MilvusFieldData]] {
        milvus.state.withLock { $0.inserted.map(\.fields) }
    }

    @Test func concurrentInsertsLeaveAsOneWriteAndEachCallerGetsItsOwnIds() async throws {
        let gate = Gate()
        let (milvus, manager) = try await manager(gate: gate)
        let tasks = try await pileUp(manager, 16) { index in
            try await manager.insert("docs", entities: row(Int64(index)), deadline: deadline)
        }
        gate.open()
        for (index, task) in tasks.enumerated() {
            #expect(try await task.value == MutationResult(ids: .int64s([Int64(index)]), count: 1))
        }
        // The first write alone, then the 16 behind it in one, their rows in call order.
        let sent = inserts(milvus)
        #expect(sent.count == 2)
        #expect(sent.last?.first { $0.name == "id" }?.values.count == 16)
        #expect(manager.writeCoalescing?.sent == 2)
    }

    @Test func autoIdCallersGetDisjointRunsOfTheIdsMilvusAssigned() async throws {
        let gate = Gate()
        let (_, manager) = try await manager(autoID: true, gate: gate)
        let tasks = try await pileUp(manager, 8) { index in
            try await manager.insert("docs", entities: Entities(["vector": .floatVectors(dimension: 2, values: [1, 2, 3, 4])]),
                                     deadline: deadline)
        }
        gate.open()
        var all: [Int64] = []
        for task in tasks {
            let result = try await task.value
            #expect(result.count == 2)
            guard case .int64s(let ids) = result.ids else { continue }
            #expect(ids.count == 2)
            all += ids
        }
        #expect(Set(all).count == 18)
        #expect(Set(all) == Set(1000..<1018))
    }

    @Test func aMergedWriteMilvusRefusesIsSentAgainMemberByMemberAndOnlyTheBadOneFails() async throws {
        let gate = Gate()
        // Milvus refuses any write that holds a row with a negative vector value (the "bad" one).
        let (milvus, manager) = try await manager(gate: gate) { fields, upsert throws(VectorDBError) in
            guard case .floatVectors(_, let values) = fields.first(where: { $0.name == "vector" })?.values,
                  case .int64s(let ids) = fields.first(where: { $0.name == "id" })?.values else {
                throw .internal("test: no vectors")
            }
            if values.contains(where: { $0 < 0 }) { throw .invalidArgument("Milvus: a value it does not take") }
            return MilvusResponse.Mutation(status: .success, ids: .int64s(ids), insertCount: Int64(ids.count),
                                           deleteCount: 0, upsertCount: 0)
        }
        let tasks = try await pileUp(manager, 4) { index in
            try await manager.insert("docs", entities: row(Int64(index), bad: index == 3), deadline: deadline)
        }
        gate.open()
        for (index, task) in tasks.enumerated() {
            if index == 3 {
                await #expect(throws: VectorDBError.invalidArgument("Milvus: a value it does not take")) { try await task.value }
            } else {
                #expect(try await task.value.ids == .int64s([Int64(index)]))
            }
        }
        // First alone, the merged four (refused), then each of the four alone.
        #expect(inserts(milvus).map { $0.first?.rowCount ?? 0 } == [1, 4, 1, 1, 1, 1])
    }

    @Test func aMergedWriteWhoseOutcomeIsUnknownFailsEveryMemberAndIsNeverSentAgain() async throws {
        let gate = Gate()
        let calls = Atomic<Int>(0)
        let (milvus, manager) = try await manager(gate: gate) { fields, _ throws(VectorDBError) in
            // The first write goes through; the merged one loses its connection after sending.
            guard calls.add(1, ordering: .relaxed).oldValue > 0 else {
                return MilvusResponse.Mutation(status: .success, ids: .int64s([0]), insertCount: 1, deleteCount: 0, upsertCount: 0)
            }
            throw .unavailable("connection lost after the request was sent")
        }
        let tasks = try await pileUp(manager, 5) { index in
            try await manager.insert("docs", entities: row(Int64(index)), deadline: deadline)
        }
        gate.open()
        #expect(try await tasks[0].value.count == 1)
        for task in tasks.dropFirst() {
            await #expect(throws: VectorDBError.unavailable("connection lost after the request was sent")) { try await task.value }
        }
        #expect(inserts(milvus).count == 2)
    }

    @Test func upsertsOfOneKeyNeverShareAMilvusWrite() async throws {
        let gate = Gate()
        let (milvus, manager) = try await manager(gate: gate)
        // Callers 1-4 upsert key 7, callers 5-8 keys of their own.
        let tasks = try await pileUp(manager, 8) { index in
            try await manager.upsert("docs", entities: row(index >= 1 && index <= 4 ? 7 : Int64(100 + index)), deadline: deadline)
        }
        gate.open()
        for task in tasks { #expect(try await task.value.count == 1) }
        for fields in inserts(milvus) {
            guard case .int64s(let ids) = fields.first(where: { $0.name == "id" })?.values else { continue }
            #expect(ids.filter { $0 == 7 }.count <= 1, "one write carried key 7 twice: \(ids)")
        }
        // Key 7 rides in four different writes, in call order.
        let writesWith7 = inserts(milvus).filter { fields in
            if case .int64s(let ids) = fields.first(where: { $0.name == "id" })?.values { ids.contains(7) } else { false }
        }
        #expect(writesWith7.count == 4)
    }

    @Test func aCallerCancelledWhileQueuedIsDroppedAndNothingOfItsIsWritten() async throws {
        let gate = Gate()
        let (milvus, manager) = try await manager(gate: gate)
        let tasks = try await pileUp(manager, 3) { index in
            try await manager.insert("docs", entities: row(Int64(index)), deadline: deadline)
        }
        tasks[2].cancel()
        await #expect(throws: VectorDBError.self) { try await tasks[2].value }
        gate.open()
        for index in [0, 1, 3] { #expect(try await tasks[index].value.ids == .int64s([Int64(index)])) }
        let written = inserts(milvus).flatMap { fields -> [Int64] in
            if case .int64s(let ids) = fields.first(where: { $0.name == "id" })?.values { ids } else { [] }
        }
        #expect(written.sorted() == [0, 1, 3])
    }
}
