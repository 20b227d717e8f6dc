import GRPCNGHTTP2
import VDBMDomain
import VDBMProtobuf

/// Turns what the domain and the protobuf bridge throw into the status docs/api.md's error table
/// gives (``ErrorMapping``); a `GRPCStatus` passes as it is.
struct ErrorMappingInterceptor: ServerInterceptor {
    func intercept(_ request: [UInt8], context: ServerCallContext, method: MethodDescriptor,
                   next: @Sendable ([UInt8], ServerCallContext) async throws -> [UInt8]) async throws -> [UInt8] {
        do {
            return try await next(request, context)
        } catch let error as VectorDBError {
            throw ErrorMapping.status(for: error)
        } catch let error as ProtobufDecodingError {
            throw ErrorMapping.status(for: error)
        }
    }
}
