import VDBMDomain
import VDBMProtobuf

/// The encoded requests of a run, made before the clock starts so that encoding is not measured:
/// each carries the next `vectorsPerCall` query vectors, so every vector is used once per cycle.
struct BenchRequests: Sendable {
    let path: String
    let bodies: [[UInt8]]

    init(plan: BenchPlan, vectors: QueryVectors) {
        let per = plan.vectorsPerCall
        let calls = max(1, vectors.count / per)
        func group(_ call: Int) -> [Float] { (0..<per).flatMap { vectors.vector(call * per + $0) } }
        if plan.insert {
            let column = { (call: Int) in FieldValues.floatVectors(dimension: vectors.dimension, values: group(call)) }
            switch plan.target {
            case .vdbm:
                path = "/vdbm.v1.VectorDB/Insert"
                bodies = (0..<calls).map { VDBMv1.encodeInsert(collection: plan.collection, columns: [(plan.vectorField, column($0))]) }
            case .milvus:
                path = "/milvus.proto.milvus.MilvusService/Insert"
                bodies = (0..<calls).map { call in
                    MilvusRequest.insert(plan.collection, fields: [
                        MilvusFieldData(name: plan.vectorField, dataType: 101, values: column(call)),  // 101: FloatVector
                    ])
                }
            }
            return
        }
        switch plan.target {
        case .vdbm:
            path = "/vdbm.v1.VectorDB/Search"
            bodies = (0..<calls).map { call in
                VDBMv1.encodeSearch(collection: plan.collection, vectors: group(call),
                                    dimension: vectors.dimension, limit: plan.limit, filter: plan.filter, params: plan.params)
            }
        case .milvus:
            path = "/milvus.proto.milvus.MilvusService/Search"
            // The search vdbm's manager sends.
            let params = MilvusRequest.searchParams(
                annsField: plan.vectorField, topK: plan.limit,
                params: Dictionary(plan.params.map { ($0.key, ParamValue.int(Int($0.value))) }, uniquingKeysWith: { _, last in last }), offset: 0)
            bodies = (0..<calls).map { call in
                MilvusRequest.search(plan.collection, vectors: group(call), dim: vectors.dimension,
                                     filter: plan.filter, outputFields: [], params: params)
            }
        }
    }
}
