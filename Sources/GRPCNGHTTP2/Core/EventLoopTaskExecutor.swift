import NIOCore

/// Runs Swift tasks on one NIO event loop. A handler task started with this preference runs on
/// its connection's loop, and so do the actors and continuations it awaits (unless they have
/// executors of their own): a call then crosses no thread boundary on its way to Milvus and back
/// when its Milvus connection lives on the same loop, which costs far less CPU than waking a
/// cooperative-pool thread and the loop again for every hop.
public final class EventLoopTaskExecutor: TaskExecutor {
    public let eventLoop: any EventLoop

    public init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
