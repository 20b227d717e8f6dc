import VDBMProtobuf

/// The encoded requests of a run, one per query vector, made before the clock starts so that
/// encoding is not measured.
struct BenchRequests: Sendable {
    let path: String
    let bodies: [[UInt8]]

    init(plan: BenchPlan, vectors: QueryVectors) {
        switch plan.target {
        case .vdbm:
            path = "/vdbm.v1.VectorDB/Search"
            bodies = (0..<vectors.count).map { index in
                VDBMv1.encodeSearch(collection: plan.collection, vectors: Array(vectors.vector(index)),
                                    dimension: vectors.dimension, limit: plan.limit, filter: plan.filter, params: plan.params)
            }
        case .milvus:
            path = "/milvus.proto.milvus.MilvusService/Search"
            // The search vdbm's manager sends (no metric_type: Milvus uses the index's own).
            let json = "{" + plan.params.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ") + "}"
            let params = [MilvusKeyValue("anns_field", plan.vectorField), MilvusKeyValue("topk", "\(plan.limit)"),
                          MilvusKeyValue("params", json), MilvusKeyValue("offset", "0"), MilvusKeyValue("round_decimal", "-1")]
            bodies = (0..<vectors.count).map { index in
                MilvusRequest.search(plan.collection, vectors: Array(vectors.vector(index)), dim: vectors.dimension,
                                     filter: plan.filter, outputFields: [], params: params)
            }
        }
    }
}
