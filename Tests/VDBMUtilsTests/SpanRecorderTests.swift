import Testing
@testable import VDBMUtils

@Suite struct SpanRecorderTests {
    private func span(_ name: String = "s") -> SpanRecord {
        SpanRecord(trace: TraceContext(traceparent: nil, requestID: nil, fallbackRequestID: "r"), spanID: 1,
                   parentSpanID: 0, name: name, kind: .internal, startNanos: 1, endNanos: 2)
    }

    @Test func newTracesAreSampledAtTheRatio() {
        for ratio in [0.0, 0.01, 0.25, 1.0] {
            let recorder = SpanRecorder(sampleRatio: ratio)
            var sampled = 0
            for _ in 0..<100_000 {
                var trace = TraceContext(traceparent: nil, requestID: nil, fallbackRequestID: "r")
                trace.sample(by: recorder)
                if trace.recorder != nil { sampled += 1 }
            }
            // vdbm's own trace ids differ only in a counter: the hash must spread them.
            #expect(abs(Double(sampled) / 100_000 - ratio) <= max(0.005, ratio * 0.05), "ratio \(ratio): \(sampled)")
        }
    }

    @Test func aContinuedTraceFollowsItsCallersSampledFlag() {
        let recorder = SpanRecorder(sampleRatio: 0)
        var sampledParent = TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                                         requestID: nil, fallbackRequestID: "r")
        sampledParent.sample(by: recorder)
        #expect(sampledParent.recorder === recorder && sampledParent.spanID != 0)
        #expect(sampledParent.traceparent(spanID: 0xab).hasSuffix("-00000000000000ab-01"))

        let always = SpanRecorder(sampleRatio: 1)
        var unsampledParent = TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
                                           requestID: nil, fallbackRequestID: "r")
        unsampledParent.sample(by: always)
        #expect(unsampledParent.recorder == nil && unsampledParent.spanID == 0 && unsampledParent.flags == 0)
    }

    @Test func aSampledNewTraceSaysSoInWhatItPassesOn() {
        var trace = TraceContext(traceparent: nil, requestID: nil, fallbackRequestID: "r")
        #expect(trace.childTraceparent().hasSuffix("-00"))
        trace.sample(by: SpanRecorder(sampleRatio: 1))
        #expect(trace.childTraceparent().hasSuffix("-01"))
        trace.sample(by: nil)  // tracing off changes nothing
        #expect(trace.recorder != nil)
    }

    @Test func aBatchIsANewSampledTraceOfItsOwn() {
        let recorder = SpanRecorder(sampleRatio: 0)
        let batch = TraceContext.batch(recorder: recorder)
        #expect(batch.recorder === recorder && batch.flags == 1 && batch.spanID != 0 && batch.parentSpanID == nil)
        #expect(batch.requestID == batch.traceIDHex)
    }

    @Test func theBufferIsBoundedAndCountsWhatItDrops() {
        let recorder = SpanRecorder(sampleRatio: 1, capacity: 3, batchSize: 2)
        for index in 0..<5 { recorder.record(span("s\(index)")) }
        #expect(recorder.droppedSpans == 2)
        #expect(recorder.take(upTo: 2).map(\.name) == ["s0", "s1"])
        #expect(recorder.take(upTo: 2).map(\.name) == ["s2"])
        #expect(recorder.take(upTo: 2).isEmpty)
        recorder.close()
        recorder.record(span())
        #expect(recorder.droppedSpans == 3 && recorder.waitingSpans == 0)
    }

    @Test func aWaitEndsWhenEnoughSpansWaitOrOnWakeOrClose() async {
        let recorder = SpanRecorder(sampleRatio: 1, capacity: 10, batchSize: 3)
        async let batch: Void = recorder.waitForSpans(atLeast: 3)
        try? await Task.sleep(for: .milliseconds(20))
        for _ in 0..<3 { recorder.record(span()) }
        await batch
        #expect(recorder.waitingSpans == 3)
        await recorder.waitForSpans(atLeast: 1)  // already there: no wait

        _ = recorder.take(upTo: 10)
        async let woken: Void = recorder.waitForSpans(atLeast: 3)
        try? await Task.sleep(for: .milliseconds(20))
        recorder.wake()
        await woken

        async let closed: Void = recorder.waitForSpans(atLeast: 1)
        try? await Task.sleep(for: .milliseconds(20))
        recorder.close()
        await closed
        #expect(recorder.isClosed)
    }
}
