import VDBMManager
import VDBMService

/// The manager is the service's backend. Declared here, where both are known, so the service
/// layer does not depend on the manager.
extension VectorDBManager: VectorDBBackend {}
