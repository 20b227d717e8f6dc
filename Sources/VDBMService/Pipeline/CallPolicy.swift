import GRPCNGHTTP2
import VDBMUtils

/// What a method's calls need and are: the data a service states on each `MethodDescriptor` and
/// the server's interceptors (``CallPipeline``) act on. One table per service says it all; no
/// handler checks a key or takes an admission place itself.
public struct CallPolicy: Sendable, Hashable {
    /// Where a caller's vdbm API key is.
    public enum KeyPresentation: Sendable, Hashable {
        /// `authorization: Bearer <api key>` (vdbm.v1).
        case bearer
        /// `authorization: base64(<token>)`, where a Milvus SDK puts its token (the pass-through).
        /// With `clientCredentials` (`auth.passthrough_milvus_credentials`), a token that is no
        /// vdbm key is the caller's own Milvus credentials: they pass, and Milvus checks them.
        case milvusToken(clientCredentials: Bool)
    }

    /// The role a caller's key needs; nil: open to every caller (health, reflection).
    public var role: Role?
    /// The admission class the call counts against; nil: not limited.
    public var callClass: CallClass?
    /// Whether a call may be sent to Milvus again after a failure (reads).
    public var idempotent: Bool
    public var presentation: KeyPresentation

    /// `role`'s policy: its admission class is the role's (read, write, admin) unless given, and
    /// only reads are idempotent unless said.
    public init(role: Role, class callClass: CallClass? = nil, idempotent: Bool? = nil,
                presentation: KeyPresentation = .bearer) {
        self.role = role
        self.callClass = callClass ?? Self.callClass(of: role)
        self.idempotent = idempotent ?? (role == .read)
        self.presentation = presentation
    }

    private init(open: Void) {
        role = nil
        callClass = nil
        idempotent = true
        presentation = .bearer
    }

    /// Open to every caller and never queued: health checks and reflection.
    public static let open = CallPolicy(open: ())

    /// What a method that states no policy gets: the most any key may need.
    public static let unstated = CallPolicy(role: .admin)

    static func callClass(of role: Role) -> CallClass {
        switch role {
        case .read: .read
        case .write: .write
        case .admin: .admin
        }
    }
}

extension MethodDescriptor {
    /// The policy its service stated (``CallPolicy/unstated`` when none).
    public var callPolicy: CallPolicy { policy as? CallPolicy ?? .unstated }
}
