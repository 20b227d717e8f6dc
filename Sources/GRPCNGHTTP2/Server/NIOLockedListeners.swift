import NIOCore
import Synchronization

/// The server's listening channels (the lock guards only the array).
final class NIOLockedListeners: Sendable {
    private let channels = Mutex<[any Channel]>([])

    func append(_ channel: any Channel) { channels.withLock { $0.append(channel) } }
    var all: [any Channel] { channels.withLock { $0 } }
    func takeAll() -> [any Channel] { channels.withLock { let taken = $0; $0 = []; return taken } }
}
