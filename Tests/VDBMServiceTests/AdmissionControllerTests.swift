import Synchronization
import Testing
@testable import VDBMService
import VDBMUtils

/// Admission with real tasks: a call waits for a place, one that cannot expect one in time is
/// refused, a cancelled waiter leaves.
@Suite struct AdmissionControllerTests {
    private final class Flag: Sendable {
        let count = Atomic<Int>(0)
        var isSet: Bool { count.load(ordering: .relaxed) > 0 }
    }

    private func controller(writes: Int) -> AdmissionController {
        AdmissionController(limits: AdmissionLimits(total: 100, perClass: [.write: writes], keys: [.write: "server.max_inflight_writes"]))
    }

    /// Runs a write that holds its place until `release` is called.
    private func holdingWrite(_ admission: AdmissionController, started: Flag, release: AsyncStream<Void>)
        -> Task<Void, any Error> {
        Task {
            try await admission.run(.write, deadline: .after(.seconds(10))) {
                started.count.add(1, ordering: .relaxed)
                for await _ in release { break }
            }
        }
    }

    @Test func aCallWaitsForAPlaceAndRunsWhenOneFrees() async throws {
        let admission = controller(writes: 1)
        let started = Flag()
        let (release, releaser) = AsyncStream<Void>.makeStream()
        let holder = holdingWrite(admission, started: started, release: release)
        while !started.isSet { try await Task.sleep(for: .milliseconds(5)) }
        let waiter = Task { try await admission.run(.write, deadline: .after(.seconds(10))) { 42 } }
        while admission.snapshot.waiting == 0 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(admission.snapshot == (1, 1))
        releaser.yield()
        try await holder.value
        #expect(try await waiter.value == 42)
        #expect(admission.snapshot == (0, 0))
    }

    @Test func aFullQueueIsRefusedAtOnceNamingTheLimit() async throws {
        let admission = controller(writes: 1)
        let started = Flag()
        let (release, releaser) = AsyncStream<Void>.makeStream()
        let holder = holdingWrite(admission, started: started, release: release)
        while !started.isSet { try await Task.sleep(for: .milliseconds(5)) }
        let waiter = Task { try await admission.run(.write, deadline: .after(.seconds(10))) { 1 } }
        while admission.snapshot.waiting == 0 { try await Task.sleep(for: .milliseconds(5)) }
        await #expect(throws: AdmissionRefusal.self) {
            try await admission.run(.write, deadline: .after(.seconds(10))) { 2 }
        }
        do {
            _ = try await admission.run(.write, deadline: .after(.seconds(10))) { 3 }
        } catch let refusal as AdmissionRefusal {
            #expect(refusal.message.contains("server.max_inflight_writes (1)"))
        }
        releaser.yield()
        try await holder.value
        #expect(try await waiter.value == 1)
    }

    @Test func aCancelledWaiterLeavesAndThePlaceGoesToTheNext() async throws {
        let admission = controller(writes: 1)
        let started = Flag()
        let (release, releaser) = AsyncStream<Void>.makeStream()
        let holder = holdingWrite(admission, started: started, release: release)
        while !started.isSet { try await Task.sleep(for: .milliseconds(5)) }
        let cancelled = Task { try await admission.run(.write, deadline: .after(.seconds(10))) { "ran" } }
        while admission.snapshot.waiting == 0 { try await Task.sleep(for: .milliseconds(5)) }
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        #expect(admission.snapshot == (1, 0))
        releaser.yield()
        try await holder.value
        #expect(try await admission.run(.write, deadline: .after(.seconds(1))) { "next" } == "next")
        #expect(admission.snapshot == (0, 0))
    }
}
