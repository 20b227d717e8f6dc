import CProtobufC
import CVDBMProtos

/// The method names of `milvus.proto.milvus.MilvusService`, as `Protos/milvus/milvus_service.proto`
/// lists them (read from protoc-c's service descriptor, so the table that classifies them is
/// checked against the proto file).
public enum MilvusServiceMethods {
    public static let names: [String] = {
        withUnsafePointer(to: milvus__proto__milvus__milvus_service__descriptor) { service in
            (0..<Int(service.pointee.n_methods)).map { String(cString: service.pointee.methods[$0].name) }
        }
    }()
}
