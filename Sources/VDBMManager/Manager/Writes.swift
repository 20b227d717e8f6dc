import MilvusClient
import VDBMDomain
import VDBMProtobuf
import VDBMUtils

/// Inserts and upserts: each caller's rows checked against the schema, then written alone or,
/// with write coalescing on, merged with other callers' into one Milvus write.
extension VectorDBManager {
    nonisolated public func insert(_ collection: String, entities: Entities, partition: String = "",
                       deadline: Deadline) async throws(VectorDBError) -> MutationResult {
        try await mutate(collection, entities: entities, partition: partition, upsert: false, deadline: deadline)
    }

    nonisolated public func upsert(_ collection: String, entities: Entities, partition: String = "",
                       deadline: Deadline) async throws(VectorDBError) -> MutationResult {
        try await mutate(collection, entities: entities, partition: partition, upsert: true, deadline: deadline)
    }

    nonisolated private func mutate(_ collection: String, entities: Entities, partition: String, upsert: Bool,
                        deadline: Deadline) async throws(VectorDBError) -> MutationResult {
        if !partition.isEmpty { try SchemaMapping.validateName(partition, kind: "partition") }
        return try await withSchema(collection, deadline: deadline) { schema throws(VectorDBError) in
            // Every row is checked against the schema here, before it may join a batch: one
            // caller's bad row never fails another's write.
            let columns = try SchemaMapping.columns(entities, schema: schema, upsert: upsert)
            let rows = entities.rowCount
            guard let writeCoalescer else {
                return try await Self.writeAlone(milvus, collection, partition: partition, columns: columns, rows: rows,
                                                 upsert: upsert, deadline: deadline)
            }
            let database = MilvusCallContext.database
            let key = WriteBatchKey(database: database, collection: collection, partition: partition, upsert: upsert,
                                    columns: columns)
            let milvus = self.milvus
            return try await writeCoalescer.write(
                key: key, rows: WriteRows(columns: columns, count: rows), rowCount: rows, bytes: WriteMerging.bytes(columns),
                conflictKeys: upsert ? WriteMerging.conflictKeys(columns, primaryKey: schema.primaryKey?.name) : nil,
                deadline: deadline
            ) { members, batchDeadline in
                await Self.writeBatch(milvus, key, members, deadline: batchDeadline)
            }
        }
    }

    /// One Milvus write of the members' rows; each member's outcome. When Milvus refuses the
    /// merged write (it wrote nothing), each member is sent again alone, in order, for its own
    /// answer; any other failure (the outcome is unknown) fails every member, unsent again.
    static func writeBatch(_ milvus: any MilvusAPI, _ key: WriteBatchKey, _ members: [WriteRows],
                           deadline: Deadline) async -> [Result<MutationResult, VectorDBError>] {
        func alone(_ member: WriteRows) async -> Result<MutationResult, VectorDBError> {
            do throws(VectorDBError) {
                return .success(try await inDatabase(key.database) { () throws(VectorDBError) in
                    try await writeAlone(milvus, key.collection, partition: key.partition, columns: member.columns,
                                         rows: member.count, upsert: key.upsert, deadline: deadline)
                })
            } catch {
                return .failure(error)
            }
        }
        guard members.count > 1 else { return [await alone(members[0])] }
        let rows = members.map(\.count)
        do throws(VectorDBError) {
            let merged = try await inDatabase(key.database) { () throws(VectorDBError) in
                try await writeAlone(milvus, key.collection, partition: key.partition, columns: WriteMerging.merged(members),
                                     rows: rows.reduce(0, +), upsert: key.upsert, deadline: deadline)
            }
            return WriteMerging.split(merged, rows: rows).map { .success($0) }
        } catch {
            guard WriteMerging.isRefusal(error) else { return members.map { _ in .failure(error) } }
            var outcomes: [Result<MutationResult, VectorDBError>] = []
            for member in members { outcomes.append(await alone(member)) }
            return outcomes
        }
    }

    static func writeAlone(_ milvus: any MilvusAPI, _ collection: String, partition: String, columns: [MilvusFieldData],
                           rows: Int, upsert: Bool, deadline: Deadline) async throws(VectorDBError) -> MutationResult {
        let result = try await milvus.insert(collection, partition: partition, fields: columns, upsert: upsert, deadline: deadline)
        return try mutationResult(result, rows: rows, upsert: upsert)
    }

    /// What an insert or upsert of `rows` rows did, as Milvus says; an answer that counts other
    /// rows than were sent, or names keys for other rows, is an internal error.
    package static func mutationResult(_ reply: MilvusResponse.Mutation, rows: Int, upsert: Bool) throws(VectorDBError)
        -> MutationResult {
        let count = upsert ? reply.upsertCount : reply.insertCount
        let kind = upsert ? "upsert" : "insert"
        guard count == Int64(rows) else {
            throw .internal(MalformedMilvusAnswer(kind, "\(kind) count \(count) for \(rows) rows sent").description)
        }
        guard reply.ids.count == rows else {
            throw .internal(MalformedMilvusAnswer(kind, "\(reply.ids.count) ids for \(rows) rows sent").description)
        }
        return MutationResult(ids: SchemaMapping.keys(reply.ids), count: count)
    }

    /// Writes queued or in flight in the write coalescer, batches in flight, rows queued and
    /// Milvus writes started (`nil` when write coalescing is off).
    nonisolated var writeCoalescing: (members: Int, batches: Int, queuedRows: Int, sent: Int)? { writeCoalescer?.snapshot }
}
