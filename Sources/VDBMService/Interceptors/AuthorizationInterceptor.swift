import GRPCNGHTTP2

/// Refuses a call whose API key is missing, unknown or below the method's role (UNAUTHENTICATED,
/// PERMISSION_DENIED) before anything about the request is looked at. The keys are read per call
/// from the service settings, which a reload may replace.
struct AuthorizationInterceptor: ServerInterceptor {
    let settings: ServiceSettings
    /// What the method's caller needs (from the method table).
    let role: Role

    func intercept(_ request: [UInt8], context: ServerCallContext, method: MethodDescriptor,
                   next: @Sendable ([UInt8], ServerCallContext) async throws -> [UInt8]) async throws -> [UInt8] {
        try settings.authenticator.authorize(context.metadata, needs: role)
        return try await next(request, context)
    }
}
