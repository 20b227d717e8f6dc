import MilvusClient
import Testing
import VDBMDomain
import VDBMProtobuf

/// One row per line of `MilvusErrorMapping`'s table. The statuses are those Milvus 2.3.5 sends
/// (seen on the wire; `MilvusErrorMappingIntegrationTests` provokes them against the real server).
@Suite struct MilvusErrorMappingTests {
    private func error(_ errorCode: Int32, _ code: Int32, _ reason: String, detail: String = "") -> VectorDBError {
        VectorDBError.from(MilvusStatus(errorCode: errorCode, reason: reason, code: code, detail: detail), collection: "docs")
    }

    @Test func codesDecideBeforeText() {
        // The reason says "not found", but code 101 is "not loaded": the code wins.
        #expect(error(1, 101, "failed to search: collection not loaded[collection=4]")
            == .notLoaded("collection 'docs' is not loaded: load it first (Milvus: failed to search: collection not loaded[collection=4])"))
        #expect(error(4, 100, "can't find collection collection not found[database=default][collection=docs]",
                      detail: "collection not found[database=default][collection=docs]")
            == .notFound("collection 'docs' does not exist (Milvus: collection not found[database=default][collection=docs])"))
        #expect(error(25, 700, "index not found[indexName=x]") == .notFound("the index does not exist (Milvus: index not found[indexName=x])"))
        #expect(error(1, 200, "partition not found[partition=p]") == .notFound("the partition does not exist (Milvus: partition not found[partition=p])"))
        #expect(error(5, 1100, "invalid parameter[expected=x]") == .invalidArgument("Milvus refused the request's parameters (Milvus: invalid parameter[expected=x])"))
        #expect(error(1, 8, "rate limit exceeded") == .rateLimited("rate limit exceeded"))
        #expect(error(1, 1401, "privilege not permitted") == .permissionDenied("privilege not permitted"))
        #expect(error(1, 2, "service unavailable") == .unavailable("Milvus is not ready to serve this yet (Milvus: service unavailable)"))
        #expect(error(1, 901, "node not found[node=1]") == .unavailable("Milvus is not ready to serve this yet (Milvus: node not found[node=1])"))
        #expect(error(1, 3, "memory limit exceeded") == .resourceExhausted("Milvus is out of memory, disk or quota (Milvus: memory limit exceeded)"))
    }

    @Test func legacyCodesDecideWhenThereIsNoNumericCode() {
        #expect(error(4, 0, "collection not found") == .notFound("collection 'docs' does not exist (Milvus: collection not found)"))
        #expect(error(49, 0, "rate") == .rateLimited("rate"))
        #expect(error(5, 0, "bad") == .invalidArgument("Milvus refused the request's parameters (Milvus: bad)"))
        #expect(error(3, 0, "no") == .permissionDenied("no"))
        #expect(error(25, 0, "no index") == .notFound("the index does not exist (Milvus: no index)"))
        #expect(error(56, 0, "not ready") == .unavailable("Milvus is not ready to serve this yet (Milvus: not ready)"))
    }

    @Test(arguments: [
        ("failed to create expr plan, expr = id >>> 3", VectorDBError.invalidArgument("Milvus cannot use the filter expression (Milvus: failed to create expr plan, expr = id >>> 3)")),
        ("cannot parse expression: id >>> 0, error: line 1:5", .invalidArgument("Milvus cannot parse the filter expression (Milvus: cannot parse expression: id >>> 0, error: line 1:5)")),
        ("failed to create query plan: cannot parse expression: nope > 1", .invalidArgument("Milvus cannot parse the filter expression (Milvus: failed to create query plan: cannot parse expression: nope > 1)")),
        ("field nope_field not exist", .invalidArgument("a field named in the request does not exist (Milvus: field nope_field not exist)")),
        ("cannot create index on non-exist field: nope", .invalidArgument("the field to index does not exist (Milvus: cannot create index on non-exist field: nope)")),
        ("CreateIndex failed: at most one distinct index is allowed per field", .alreadyExists("the field already has an index with other parameters: drop it first (Milvus: CreateIndex failed: at most one distinct index is allowed per field)")),
        ("invalid index type: NOPE", .invalidArgument("Milvus does not know the index type (Milvus: invalid index type: NOPE)")),
        ("default partition cannot be deleted", .invalidArgument("the _default partition cannot be dropped (Milvus: default partition cannot be deleted)")),
        ("partition cannot be dropped, partition is loaded, please release it first", .failedPrecondition("the partition is loaded: release the collection first (Milvus: partition cannot be dropped, partition is loaded, please release it first)")),
        ("index cannot be dropped, collection is loaded, please release it first", .failedPrecondition("the collection is loaded: release it before dropping its index (Milvus: index cannot be dropped, collection is loaded, please release it first)")),
        ("partition name nope_p not found", .notFound("the partition does not exist (Milvus: partition name nope_p not found)")),
        ("session not found->datanode-1: node not found[node=1]: unrecoverable error", .unavailable("Milvus is not ready to serve this yet (Milvus: session not found->datanode-1: node not found[node=1]: unrecoverable error)")),
    ])
    func theCatchAllCodeIsReadOnlyForExactPhrases(reason: String, expected: VectorDBError) {
        #expect(error(1, 65_535, reason) == expected)
    }

    @Test func otherReasonsStayMilvusErrorsAndNeverBecomeNotFoundByAccident() {
        // "not found" inside an unrelated reason used to make any error NOT_FOUND.
        #expect(error(1, 65_535, "segment lacks: key not found in etcd") == .milvus(code: 65_535, reason: "segment lacks: key not found in etcd"))
        #expect(error(1, 65_535, "collection already exists") == .milvus(code: 65_535, reason: "collection already exists"))
    }

    @Test func reasonsAreCutToTheirFirstLineAndABoundedLength() {
        let trace = "boom\ngoroutine 1 [running]:\nmain.main()\n" + String(repeating: "x", count: 4_000)
        #expect(error(1, 65_535, trace) == .milvus(code: 65_535, reason: "boom"))
        let long = String(repeating: "y", count: 1_000)
        guard case .milvus(_, let reason) = error(1, 65_535, long) else { Issue.record("not a Milvus error"); return }
        #expect(reason.count == MilvusErrorMapping.maxReasonLength + 1)
        #expect(reason.hasSuffix("…"))
    }
}
