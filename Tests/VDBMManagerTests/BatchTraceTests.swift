import Synchronization
import Testing
import VDBMDomain
import VDBMUtils
@testable import VDBMManager

@Suite struct BatchTraceTests {
    private func member(sampled: Bool, recorder: SpanRecorder) -> TraceContext {
        var trace = TraceContext(traceparent: nil, requestID: nil, fallbackRequestID: "r")
        trace.sample(by: sampled ? recorder : nil)
        return trace
    }

    @Test func aBatchOfSampledMembersIsASpanOfItsOwnLinkedToEach() async throws {
        let recorder = SpanRecorder(sampleRatio: 1)
        let members = [member(sampled: true, recorder: recorder), member(sampled: false, recorder: recorder), nil,
                       member(sampled: true, recorder: recorder)]
        let batch = BatchTrace(name: "vdbm.search.batch", members: members, attributes: [("vdbm.batch.vectors", .int(4))])
        let seen = await batch.run { TraceContext.current }
        batch.end(error: "Milvus is down")

        let spans = recorder.take(upTo: 10)
        try #require(spans.count == 1)
        let span = spans[0]
        #expect(span.name == "vdbm.search.batch" && span.kind == .internal && span.parentSpanID == 0)
        #expect(seen?.spanID == span.spanID && seen?.traceLow == span.traceLow && seen?.recorder === recorder)
        #expect(span.links == [members[0]!, members[3]!].map {
            SpanRecord.Link(traceHigh: $0.traceHigh, traceLow: $0.traceLow, spanID: $0.spanID)
        })
        #expect(span.error == "Milvus is down")
        let attributes = Dictionary(uniqueKeysWithValues: span.attributes.map { ($0.key, $0.value) })
        #expect(attributes["vdbm.batch.vectors"] == .int(4) && attributes["vdbm.batch.members"] == .int(4))
    }

    @Test func aBatchOfUnsampledMembersRunsInTheFirstOnesContextAndRecordsNothing() async {
        let recorder = SpanRecorder(sampleRatio: 1)
        let first = member(sampled: false, recorder: recorder)
        let batch = BatchTrace(name: "vdbm.write.batch", members: [first, member(sampled: false, recorder: recorder)],
                               attributes: [])
        let seen = await batch.run { TraceContext.current }
        batch.end(error: nil)
        #expect(seen?.requestID == first.requestID && seen?.recorder == nil)
        #expect(recorder.waitingSpans == 0)
    }

    @Test func aMergedSearchRunsUnderItsBatchSpanLinkedToEveryWaitingCaller() async throws {
        let recorder = SpanRecorder(sampleRatio: 1)
        let coalescer = SearchCoalescer<String, [Float], Int>(policy: .forTests())
        let open = Atomic<Bool>(false)
        let seen = Mutex<[UInt64]>([])  // the span each Milvus search ran under
        let search: SearchCoalescer<String, [Float], Int>.Search = { vectors, _, _ in
            seen.withLock { $0.append(TraceContext.current?.spanID ?? 0) }
            while !open.load(ordering: .sequentiallyConsistent) { try? await Task.sleep(for: .milliseconds(2)) }
            return vectors.map { Int($0) }
        }
        let callers = (0..<6).map { _ in member(sampled: true, recorder: recorder) }
        let answers = try await withThrowingTaskGroup(of: (Int, [Int]).self) { group in
            for (index, caller) in callers.enumerated() {
                group.addTask {
                    try await TraceContext.$current.withValue(caller) {
                        (index, try await coalescer.search(key: "docs", vectors: [Float(index)], queries: 1,
                                                           deadline: .after(.seconds(10)), search: search))
                    }
                }
                // The first leaves alone; the others wait for it, and leave together after.
                for _ in 0..<500 where coalescer.snapshot.members < index + 1 { try await Task.sleep(for: .milliseconds(2)) }
            }
            open.store(true, ordering: .sequentiallyConsistent)
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        #expect(answers == Dictionary(uniqueKeysWithValues: (0..<6).map { ($0, [$0]) }))
        let spans = recorder.take(upTo: 10)
        try #require(spans.count == 1)
        let batch = spans[0]
        #expect(seen.withLock { $0 } == [callers[0].spanID, batch.spanID])  // alone: its caller's own span
        #expect(Set(batch.links.map(\.spanID)) == Set(callers.dropFirst().map(\.spanID)))
        let attributes = Dictionary(uniqueKeysWithValues: batch.attributes.map { ($0.key, $0.value) })
        #expect(attributes["vdbm.batch.vectors"] == .int(5) && attributes["vdbm.batch.members"] == .int(5))
    }
}
