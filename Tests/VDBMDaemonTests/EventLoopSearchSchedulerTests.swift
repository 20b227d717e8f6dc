import GRPCNGHTTP2
import NIOCore
import NIOPosix
import Synchronization
import Testing
@testable import VDBMDaemon

/// Merged searches and the coalescer's timer run on vdbm's event loops.
@Suite struct EventLoopSearchSchedulerTests {
    @Test func aBatchDecidedOnALoopRunsOnThatLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let scheduler = EventLoopSearchScheduler(group: group)
        for loop in group.makeIterator() {
            let executor = try await loop.submit { scheduler.executorForBatch() }.get()
            let ranOnIt = await Task(executorPreference: executor) { loop.inEventLoop }.value
            #expect(ranOnIt)
        }
        // Off any loop, it still picks one of the group's.
        let executor = try #require(scheduler.executorForBatch() as? EventLoopTaskExecutor)
        #expect(group.makeIterator().contains { $0 === executor.eventLoop })
        try await group.shutdownGracefully()
    }

    @Test func theTimerFiresAfterItsInstantUnlessCancelled() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let scheduler = EventLoopSearchScheduler(group: group)
        let fired = Mutex<[String: ContinuousClock.Instant]>([:])
        let start = ContinuousClock.now
        _ = scheduler.schedule(at: start + .milliseconds(20)) { fired.withLock { $0["kept"] = .now } }
        let cancel = scheduler.schedule(at: start + .milliseconds(20)) { fired.withLock { $0["cancelled"] = .now } }
        cancel()
        try await Task.sleep(for: .milliseconds(300))
        let times = fired.withLock { $0 }
        #expect(times["cancelled"] == nil)
        let kept = try #require(times["kept"])
        #expect(kept >= start + .milliseconds(20))
        try await group.shutdownGracefully()
    }
}
