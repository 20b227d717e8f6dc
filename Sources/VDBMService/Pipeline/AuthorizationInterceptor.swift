import GRPCNGHTTP2

/// Refuses a call whose API key is missing, unknown or below the method's role (UNAUTHENTICATED,
/// PERMISSION_DENIED) before anything about the request is looked at. The keys are read per call
/// from the service settings, which a reload may replace. Where the key is, and whether a
/// caller's own Milvus credentials may stand in for it, is the method's ``CallPolicy``.
struct AuthorizationInterceptor: ServerInterceptor {
    let settings: ServiceSettings

    func applies(to method: MethodDescriptor) -> Bool { method.callPolicy.role != nil }

    func intercept(_ call: ServerCall, next: @Sendable (ServerCall) async throws -> Void) async throws {
        let policy = call.method.callPolicy
        guard let role = policy.role else { return try await next(call) }
        switch policy.presentation {
        case .bearer:
            try settings.authenticator.authorize(call.context.metadata, needs: role)
            try await next(call)
        case .milvusToken(let clientCredentials):
            let own = try MilvusTokenAuthorization.authorize(
                call.context.metadata, role: role, authenticator: settings.authenticator,
                clientCredentialsAllowed: clientCredentials)
            guard let own else { return try await next(call) }
            try await CallerCredentials.$milvus.withValue(own) { try await next(call) }
        }
    }
}

/// The Milvus credentials a pass-through caller presented as its own, for the call they came
/// with: set by the authorization interceptor when the method's policy lets them through, read
/// by the pass-through, which then calls Milvus with them in place of vdbm's.
public enum CallerCredentials {
    /// `user:password`, or a token; nil: vdbm's own.
    @TaskLocal public static var milvus: String?
}
