import GRPCNGHTTP2
import VDBMUtils

/// Admission control: the call runs only under `server.max_inflight_calls` and its class's limit
/// (searches, reads, writes, admin); one that cannot start within its deadline is
/// RESOURCE_EXHAUSTED at once, with the limit named. It comes after authorization, so that
/// unknown callers never hold a place.
struct AdmissionInterceptor: ServerInterceptor {
    let controller: AdmissionController
    let callClass: CallClass

    func intercept(_ request: [UInt8], context: ServerCallContext, method: MethodDescriptor,
                   next: @Sendable ([UInt8], ServerCallContext) async throws -> [UInt8]) async throws -> [UInt8] {
        do {
            return try await controller.run(callClass, deadline: context.deadline) { try await next(request, context) }
        } catch let refusal as AdmissionRefusal {
            throw GRPCStatus(.resourceExhausted, refusal.message)
        }
    }
}
