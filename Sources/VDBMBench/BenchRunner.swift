import GRPCNGHTTP2
import Histogram
import Logging
import NIOCore
import Synchronization
import VDBMProtobuf
import VDBMUtils

/// Runs a plan: `connections` HTTP/2 connections with `streams` calls in flight on each, every
/// call with the next query vector in turn, first for the warmup, then measured until the plan
/// stops. Built on vdbm's own nghttp2 client.
public enum BenchRunner {
    public static func run(_ plan: BenchPlan, vectors: QueryVectors, group: any EventLoopGroup,
                           logger: Logger) async throws(BenchError) -> BenchReport {
        let requests = BenchRequests(plan: plan, vectors: vectors)
        var client = GRPCClientConfiguration()
        client.http2 = NGHTTP2Settings(maxConcurrentStreams: 100)
        var connections: [GRPCClientConnection] = []
        for _ in 0..<plan.connections {
            do {
                connections.append(try await GRPCClientConnection.connect(host: plan.host, port: plan.port, configuration: client,
                                                                          group: group, logger: logger))
            } catch {
                for connection in connections { await connection.close() }
                throw .cannotConnect("\(plan.host):\(plan.port): \(error)")
            }
        }
        let metadata = plan.authorization.map { [("authorization", $0)] } ?? []
        let next = Counter()

        if plan.warmup > .zero {
            _ = await phase(plan, requests, connections, metadata, next: next, stop: .after(plan.warmup))
        }
        let started = ContinuousClock.now
        let measuredFrom = next.value
        let stop: BenchPlan.Stop = switch plan.stop {
        case .after(let duration): .after(duration)
        case .total(let count): .total(measuredFrom + count)
        }
        let (latency, outcomes, completions) = await phase(plan, requests, connections, metadata, next: next, stop: stop)
        let elapsed = started.duration(to: .now)
        for connection in connections { await connection.close() }
        return BenchReport(plan: plan, elapsed: elapsed, latency: latency, outcomes: outcomes, completions: completions)
    }

    /// One phase: every worker calls until the phase stops; their histograms, counts and calls
    /// finished per `BenchReport.slot` merged.
    private static func phase(_ plan: BenchPlan, _ requests: BenchRequests, _ connections: [GRPCClientConnection],
                              _ metadata: [(String, String)], next: Counter, stop: BenchPlan.Stop)
        async -> (Histogram<UInt64>, [String: Int], [Int]) {
        let end = ContinuousClock.now
        let until: ContinuousClock.Instant? = if case .after(let duration) = stop { end + duration } else { nil }
        let total: Int? = if case .total(let count) = stop { count } else { nil }
        return await withTaskGroup(of: (Histogram<UInt64>, [String: Int], [Int]).self) { group in
            for connection in connections {
                // Workers run on their connection's loop: a call and its answer cross no thread.
                let executor = EventLoopTaskExecutor(connection.eventLoop)
                for _ in 0..<plan.streams {
                    group.addTask(executorPreference: executor) {
                        var latency = Histogram<UInt64>(highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: .three)
                        var outcomes: [String: Int] = [:]
                        var completions: [Int] = []
                        while true {
                            if let until, ContinuousClock.now >= until { break }
                            let index = next.take()
                            if let total, index >= total { break }
                            let body = requests.bodies[index % requests.bodies.count]
                            let sent = ContinuousClock.now
                            let outcome: String
                            do {
                                let response = try await connection.unary(path: requests.path, request: body, metadata: metadata,
                                                                          deadline: .after(plan.timeout))
                                outcome = response.status.code == .ok && plan.target == .milvus
                                    ? milvusOutcome(response.message ?? []) : response.status.code.name
                            } catch {
                                outcome = "TRANSPORT"
                            }
                            let finished = ContinuousClock.now
                            let micros = sent.duration(to: finished).components
                            _ = latency.record(UInt64(max(1, micros.seconds * 1_000_000 + micros.attoseconds / 1_000_000_000_000)))
                            outcomes[outcome, default: 0] += 1
                            let slot = max(0, Int(end.duration(to: finished) / BenchReport.slot))
                            if slot >= completions.count { completions += Array(repeating: 0, count: slot - completions.count + 1) }
                            completions[slot] += 1
                        }
                        return (latency, outcomes, completions)
                    }
                }
            }
            var latency = Histogram<UInt64>(highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: .three)
            var outcomes: [String: Int] = [:]
            var completions: [Int] = []
            for await (part, counts, slots) in group {
                latency.add(part)
                outcomes.merge(counts, uniquingKeysWith: +)
                if slots.count > completions.count { completions += Array(repeating: 0, count: slots.count - completions.count) }
                for (slot, count) in slots.enumerated() { completions[slot] += count }
            }
            return (latency, outcomes, completions)
        }
    }

    /// A Milvus answer with gRPC OK may still carry an error in its `status` (field 1): read
    /// only that field, not the hits.
    static func milvusOutcome(_ message: [UInt8]) -> String {
        guard message.count >= 2, message[0] == 0x0A else { return "OK" }
        var length = 0, shift = 0, index = 1
        while index < message.count {
            let byte = message[index]
            length |= Int(byte & 0x7F) << shift
            index += 1
            if byte < 0x80 { break }
            shift += 7
            if shift > 28 { return "OK" }
        }
        guard index + length <= message.count,
              let status = try? MilvusStatus(serializedBytes: Array(message[index..<(index + length)])) else { return "OK" }
        return status.isSuccess ? "OK" : "MILVUS_\(status.code != 0 ? status.code : status.errorCode)"
    }
}

/// The next query vector's number, shared by all workers.
final class Counter: Sendable {
    private let count = Atomic<Int>(0)

    /// The next number (each once).
    func take() -> Int { count.wrappingAdd(1, ordering: .relaxed).oldValue }
    var value: Int { count.load(ordering: .relaxed) }
}
