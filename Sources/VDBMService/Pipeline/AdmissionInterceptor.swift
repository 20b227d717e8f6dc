import GRPCNGHTTP2
import VDBMUtils

/// Admission control: the call runs only under `server.max_inflight_calls` and its class's limit
/// (searches, reads, writes, admin); one that cannot start within its deadline is refused with
/// the limit named (RESOURCE_EXHAUSTED, by the pipeline's error mapping). It comes after
/// authorization, so that unknown callers never hold a place. A streaming call holds one place
/// for its whole life.
struct AdmissionInterceptor: ServerInterceptor {
    let controller: AdmissionController

    func applies(to method: MethodDescriptor) -> Bool { method.callPolicy.callClass != nil }

    func intercept(_ call: ServerCall, next: @Sendable (ServerCall) async throws -> Void) async throws {
        guard let callClass = call.method.callPolicy.callClass else { return try await next(call) }
        try await controller.run(callClass, deadline: call.context.deadline) { try await next(call) }
    }
}
