import Testing
@testable import VDBMUtils

@Suite struct TraceContextTests {
    private let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    @Test func aValidTraceparentIsContinued() throws {
        let trace = TraceContext(traceparent: parent, tracestate: "congo=t61rcWkgMzE", requestID: nil, fallbackRequestID: "c1-1")
        #expect(trace.traceIDHex == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(trace.parentSpanID == 0x00f0_67aa_0ba9_02b7)
        #expect(trace.flags == 1)
        #expect(trace.state == "congo=t61rcWkgMzE")
        #expect(trace.requestID == "4bf92f3577b34da6a3ce929d0e0e4736")
    }

    @Test func aChildKeepsTheTraceAndFlagsWithANewSpanEachTime() {
        let trace = TraceContext(traceparent: parent, requestID: nil, fallbackRequestID: "c1-1")
        let first = trace.childTraceparent(), second = trace.childTraceparent()
        for child in [first, second] {
            let parts = child.split(separator: "-")
            #expect(parts.count == 4)
            #expect(parts[0] == "00" && parts[1] == "4bf92f3577b34da6a3ce929d0e0e4736" && parts[3] == "01")
            #expect(parts[2].count == 16 && parts[2] != "00f067aa0ba902b7" && parts[2] != "0000000000000000")
            #expect(TraceContext.parse(child) != nil)
        }
        #expect(first != second)
    }

    @Test(arguments: [
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  // uppercase
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  // zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  // zero parent id
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // forbidden version
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  // version 00 is exact
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",  // short trace id
        "garbage", "",
    ])
    func anInvalidTraceparentStartsANewTrace(header: String) {
        #expect(TraceContext.parse(header) == nil)
        let trace = TraceContext(traceparent: header, tracestate: "x=y", requestID: nil, fallbackRequestID: "c1-7")
        #expect(trace.parentSpanID == nil && trace.state == nil)
        #expect(trace.requestID == "c1-7")
        #expect(trace.traceIDHex != "4bf92f3577b34da6a3ce929d0e0e4736" && trace.traceIDHex.count == 32)
    }

    @Test func aLaterVersionIsReadByItsFirstFields() {
        #expect(TraceContext.parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more") != nil)
    }

    @Test func newTracesDifferAndTheClientsRequestIDWins() {
        let a = TraceContext(traceparent: nil, requestID: nil, fallbackRequestID: "c1-1")
        let b = TraceContext(traceparent: nil, requestID: nil, fallbackRequestID: "c1-3")
        #expect(a.traceIDHex != b.traceIDHex)
        #expect(TraceContext(traceparent: parent, requestID: "mine", fallbackRequestID: "c1-1").requestID == "mine")
    }
}
