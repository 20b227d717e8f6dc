import Synchronization

/// The settings `VectorDB` reads on every call that may change while vdbm runs (the daemon
/// replaces them on SIGHUP): the API keys and the request limits. Calls read them under a lock
/// held only for the copy; a call in flight keeps what it read.
public final class ServiceSettings: Sendable {
    private struct Values {
        var authenticator: APIKeyAuthenticator
        var validation: RequestValidation
    }

    private let values: Mutex<Values>

    public init(authenticator: APIKeyAuthenticator = .disabled, limits: RequestLimits = RequestLimits()) {
        values = Mutex(Values(authenticator: authenticator, validation: RequestValidation(limits: limits)))
    }

    /// Takes effect for calls that start from now on.
    public func replace(authenticator: APIKeyAuthenticator, limits: RequestLimits) {
        values.withLock { $0 = Values(authenticator: authenticator, validation: RequestValidation(limits: limits)) }
    }

    var authenticator: APIKeyAuthenticator { values.withLock { $0.authenticator } }
    var validation: RequestValidation { values.withLock { $0.validation } }
}
