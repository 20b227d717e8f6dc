import VDBMDomain
import VDBMUtils

/// The trace of a merged Milvus call. When any member's call is sampled, the batch gets a span of
/// its own, in a new trace, linked to every sampled member's span (OpenTelemetry's way to say one
/// piece of work served several traces); the Milvus call below it is its child. Otherwise the
/// batch runs in its first member's (unsampled) context, so its log lines carry a request id.
public struct BatchTrace: Sendable {
    /// What the batch's task runs with (`TraceContext.current`).
    public let context: TraceContext?
    /// The batch's span while it runs (`nil`: no member is sampled).
    public let span: SpanRecord?

    /// - Parameters:
    ///   - name: the span's name, e.g. `vdbm.search.batch`.
    ///   - members: each member's trace context, in member order (`nil`: outside any call).
    ///   - attributes: what the batch carries (its size).
    public init(name: String, members: [TraceContext?], attributes: [(key: String, value: SpanRecord.Value)]) {
        let sampled = members.compactMap { member in member.flatMap { $0.recorder == nil ? nil : $0 } }
        guard let recorder = sampled.first?.recorder else {
            (context, span) = (members.first ?? nil, nil)
            return
        }
        let batch = TraceContext.batch(recorder: recorder)
        context = batch
        span = SpanRecord(
            trace: batch, spanID: batch.spanID, parentSpanID: 0, name: name, kind: .internal,
            startNanos: WallClock.nanoseconds(), attributes: attributes + [("vdbm.batch.members", .int(Int64(members.count)))],
            links: sampled.map { SpanRecord.Link(traceHigh: $0.traceHigh, traceLow: $0.traceLow, spanID: $0.spanID) })
    }

    /// Runs the batch's Milvus call in the batch's context.
    public func run<Value: Sendable>(_ body: () async -> Value) async -> Value {
        await TraceContext.$current.withValue(context) { await body() }
    }

    /// A merged search in the batch's context; ends the batch's span with its outcome.
    public func search<Vectors: Sendable, Answer: Sendable>(
        _ search: @Sendable (Vectors, Int, Deadline) async throws(VectorDBError) -> [Answer], _ vectors: Vectors,
        _ queries: Int, _ deadline: Deadline
    ) async -> Result<[Answer], VectorDBError> {
        let outcome: Result<[Answer], VectorDBError> = await run {
            do throws(VectorDBError) {
                return .success(try await search(vectors, queries, deadline))
            } catch {
                return .failure(error)
            }
        }
        if case .failure(let error) = outcome { end(error: "\(error)") } else { end(error: nil) }
        return outcome
    }

    /// A merged write in the batch's context; ends the batch's span saying how many members failed.
    public func write<Rows: Sendable, Answer: Sendable>(
        _ write: @Sendable ([Rows], Deadline) async -> [Result<Answer, VectorDBError>], _ rows: [Rows], _ deadline: Deadline
    ) async -> [Result<Answer, VectorDBError>] {
        let outcomes = await run { await write(rows, deadline) }
        let failed = outcomes.filter { if case .failure = $0 { true } else { false } }.count
        end(error: failed == 0 ? nil : "\(failed) of \(outcomes.count) members failed")
        return outcomes
    }

    /// Ends the batch's span (when it has one); `error` says why the merged call failed.
    public func end(error: String?) {
        guard var span, let recorder = context?.recorder else { return }
        span.endNanos = WallClock.nanoseconds()
        span.error = error
        recorder.record(span)
    }
}
