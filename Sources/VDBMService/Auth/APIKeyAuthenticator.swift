import CoreMetrics
import GRPCNGHTTP2
import VDBMUtils

/// What a key may do. Each role includes the ones below it.
public enum Role: Int, Sendable, Hashable, Comparable, CaseIterable, CustomStringConvertible {
    /// Search, query, get, count, describe, list.
    case read = 1
    /// Read, plus insert, upsert, delete and flush.
    case write = 2
    /// Everything: collections, indexes, partitions, load and release.
    case admin = 3

    public init?(name: String) {
        switch name.lowercased() {
        case "read": self = .read
        case "write": self = .write
        case "admin": self = .admin
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .read: "read"
        case .write: "write"
        case .admin: "admin"
        }
    }

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// One configured API key: only the SHA-256 of the key is known to vdbm.
public struct APIKey: Sendable, Hashable {
    public var name: String
    public var sha256: [UInt8]
    public var role: Role

    public init(name: String, sha256: [UInt8], role: Role) {
        self.name = name
        self.sha256 = sha256
        self.role = role
    }
}

/// Checks `authorization: Bearer <key>` against the configured key hashes. The presented key is
/// hashed and compared with every configured hash in constant time, all of them every time, so
/// response times say nothing about which bytes or which key matched.
public struct APIKeyAuthenticator: Sendable {
    /// `nil` turns authentication off: every call is allowed.
    private let keys: [APIKey]?

    public static let disabled = APIKeyAuthenticator(keys: nil)

    public init(keys: [APIKey]?) {
        self.keys = keys
    }

    public var isEnabled: Bool { keys != nil }

    /// Refused calls by reason, for the metrics backend (made on first use, after the daemon
    /// chose the backend).
    private static let failures = (
        missing: Counter(label: "vdbm_auth_failures_total", dimensions: [("reason", "missing")]),
        malformed: Counter(label: "vdbm_auth_failures_total", dimensions: [("reason", "malformed")]),
        unknownKey: Counter(label: "vdbm_auth_failures_total", dimensions: [("reason", "unknown_key")]),
        roleTooLow: Counter(label: "vdbm_auth_failures_total", dimensions: [("reason", "role_too_low")]))

    /// The name of the key that may call with `role`; throws UNAUTHENTICATED or PERMISSION_DENIED.
    @discardableResult
    public func authorize(_ metadata: Metadata, needs role: Role) throws(GRPCStatus) -> String? {
        guard keys != nil else { return nil }
        guard let header = metadata[text: "authorization"] else {
            throw missingKey("send 'authorization: Bearer <api key>'")
        }
        guard header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            Self.failures.malformed.increment()
            throw GRPCStatus(.unauthenticated, "authorization metadata must be 'Bearer <api key>'")
        }
        return try authorize(key: Array(header.utf8.dropFirst(7)), needs: role)
    }

    /// What a call that presented no key ends with (counted): UNAUTHENTICATED, saying where the
    /// key goes (`hint`), in the same words for every service.
    public func missingKey(_ hint: String) -> GRPCStatus {
        Self.failures.missing.increment()
        return GRPCStatus(.unauthenticated, "missing API key: \(hint)")
    }

    /// The configured key whose hash is that of `presented`, compared in constant time; nil when
    /// none (or auth is off).
    public func key(matching presented: [UInt8]) -> APIKey? {
        guard let keys else { return nil }
        let hash = SHA256.hash(presented)
        var match: APIKey?
        for key in keys where constantTimeEquals(key.sha256, hash) && match == nil {
            match = key
        }
        return match
    }

    /// The name of the key `presented` (the key itself, as bytes) if it may call with `role`;
    /// throws UNAUTHENTICATED or PERMISSION_DENIED.
    public func authorize(key presented: [UInt8], needs role: Role) throws(GRPCStatus) -> String? {
        guard keys != nil else { return nil }
        guard let match = key(matching: presented) else {
            Self.failures.unknownKey.increment()
            throw GRPCStatus(.unauthenticated, "unknown API key")
        }
        guard match.role >= role else {
            Self.failures.roleTooLow.increment()
            throw GRPCStatus(.permissionDenied, "API key '\(match.name)' has role \(match.role); this call needs \(role)")
        }
        return match.name
    }
}
