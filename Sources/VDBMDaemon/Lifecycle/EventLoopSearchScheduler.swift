import GRPCNGHTTP2
import NIOCore
import NIOPosix
import VDBMManager

/// Runs merged searches and the coalescer's regroup timer on vdbm's event loops: on the loop
/// that decided them when there is one (a caller's loop, or the loop a batch's answer came in
/// on), so that starting a batch, its Milvus call (the pool prefers a connection on the caller's
/// loop) and the wake-up of its members cost no thread hop.
struct EventLoopSearchScheduler: SearchCoalescerScheduler {
    let group: any EventLoopGroup

    private var loop: any EventLoop { MultiThreadedEventLoopGroup.currentEventLoop ?? group.next() }

    func executorForBatch() -> (any TaskExecutor)? { EventLoopTaskExecutor(loop) }

    func schedule(at instant: ContinuousClock.Instant, _ body: @escaping @Sendable () -> Void) -> @Sendable () -> Void {
        let (seconds, attoseconds) = ContinuousClock.now.duration(to: instant).components
        let delay = TimeAmount.nanoseconds(max(0, seconds * 1_000_000_000 + attoseconds / 1_000_000_000))
        let scheduled = loop.scheduleTask(in: delay, body)
        return { scheduled.cancel() }
    }
}
