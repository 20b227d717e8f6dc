import GRPCNGHTTP2
import VDBMUtils

/// The pass-through's way to find a caller's key: where a Milvus SDK puts its token. pymilvus
/// sends `authorization: base64(token)` (or base64 of `user:password`), without a scheme; a
/// client puts its vdbm key there (`MilvusClient(uri=..., token="<api key>")`).
enum MilvusTokenAuthorization {
    /// What the client presented in `authorization`, decoded.
    static func presented(_ metadata: Metadata) -> [UInt8]? {
        guard let header = metadata[text: "authorization"] else { return nil }
        let value = header.hasPrefix("Bearer ") ? String(header.dropFirst(7)) : header
        return Base64.decode(value)
    }

    /// Checks the caller against `role`; returns the caller's own Milvus credentials (the token's
    /// text) when they are to be used in place of vdbm's, which happens only when allowed.
    static func authorize(_ metadata: Metadata, role: Role, authenticator: APIKeyAuthenticator,
                          clientCredentialsAllowed: Bool) throws(GRPCStatus) -> String? {
        let presented = presented(metadata)
        if authenticator.isEnabled, let presented, authenticator.key(matching: presented) != nil {
            _ = try authenticator.authorize(key: presented, needs: role)
            return nil
        }
        let own = presented.flatMap { String(validating: $0, as: UTF8.self) }
        if clientCredentialsAllowed, let own { return own }
        guard authenticator.isEnabled else { return nil }
        guard let presented else { throw authenticator.missingKey("send it as the Milvus client's token") }
        guard let own else {
            _ = try authenticator.authorize(key: presented, needs: role)  // no key of ours: counted, UNAUTHENTICATED
            return nil
        }
        if own.contains(":") {
            throw GRPCStatus(.unauthenticated, "Milvus user and password are not accepted: use a vdbm API key as the token "
                             + "(or set auth.passthrough_milvus_credentials)")
        }
        throw GRPCStatus(.unauthenticated, "unknown API key")
    }
}
