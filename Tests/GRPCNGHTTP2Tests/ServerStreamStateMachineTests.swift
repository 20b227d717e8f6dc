import Testing
@testable import GRPCNGHTTP2

/// One call's life on its stream with events chosen by the test: what each event may still do,
/// and which end goes on the wire.
@Suite struct ServerStreamStateMachineTests {
    @Test func aUnaryCallAnsweredOffTheLoopEndsOnceWithItsResponse() {
        var stream = ServerStreamStateMachine()
        #expect(stream.dataReceived() == .unary)
        #expect(stream.requestDidEnd() == .runUnary)
        #expect(stream.requestDidEnd() == .none)  // END_STREAM counts once
        stream.handlerDispatched()
        #expect(stream.phase == .running)
        #expect(stream.dataReceived() == .discard)  // the request was complete
        #expect(stream.handlerFinished() == true)
        #expect(stream.end(succeeded: true) == .unaryResponse)
        #expect(stream.end(succeeded: false) == nil)  // only the first end counts
        #expect(stream.closed() == false)  // closing after the answer is no cancellation
        #expect(stream.reportEnd() == true)
        #expect(stream.reportEnd() == false)
    }

    @Test func aDeadlineThatEndsAUnaryCallFirstDropsTheHandlersLateResult() {
        var stream = ServerStreamStateMachine()
        _ = stream.requestDidEnd()
        stream.handlerDispatched()
        #expect(stream.end(succeeded: false) == .trailersOnly)  // DEADLINE_EXCEEDED
        #expect(stream.handlerFinished() == false)
        #expect(stream.end(succeeded: true) == nil)
    }

    @Test func aClientResetBeforeTheAnswerIsACancellationAndLaterEventsDoNothing() {
        var stream = ServerStreamStateMachine()
        _ = stream.requestDidEnd()
        stream.handlerDispatched()
        #expect(stream.closed() == true)
        #expect(stream.hasEnded)
        #expect(stream.handlerFinished() == false)
        #expect(stream.end(succeeded: true) == nil)
        #expect(stream.dataReceived() == .discard)
    }

    @Test func refusedHeadersEndTheCallBeforeAnyHandler() {
        var http = ServerStreamStateMachine()
        #expect(http.refuseHTTP() == true)
        #expect(http.refuseHTTP() == false)
        #expect(http.requestDidEnd() == .none)
        #expect(http.startStreaming() == false)
        var grpc = ServerStreamStateMachine()
        #expect(grpc.end(succeeded: false) == .trailersOnly)  // e.g. UNIMPLEMENTED from the router
        #expect(grpc.requestDidEnd() == .none)
        #expect(grpc.refuseHTTP() == false)
    }

    @Test func aStreamingCallReadsUntilTheClientEndsAndWritesHeadersOnce() {
        var stream = ServerStreamStateMachine()
        #expect(stream.startStreaming() == true)
        #expect(stream.startStreaming() == false)
        #expect(stream.isStreaming && stream.dataReceived() == .streaming)
        #expect(stream.willWrite() == true)  // the first write carries the headers
        #expect(stream.willWrite() == false)
        #expect(stream.requestDidEnd() == .endReads)
        #expect(stream.requestEnded && stream.dataReceived() == .discard)
        #expect(stream.isStreaming)  // the handler still writes after the client's END_STREAM
        #expect(stream.handlerFinished() == true)
        #expect(stream.end(succeeded: true) == .streamingTrailers(sendHeaders: false, discardingQueued: false))
        #expect(!stream.isStreaming)
    }

    @Test func aStreamingCallThatWroteNothingSendsHeadersWithItsTrailersOrFailsTrailersOnly() {
        var ok = ServerStreamStateMachine()
        _ = ok.startStreaming()
        _ = ok.handlerFinished()
        #expect(ok.end(succeeded: true) == .streamingTrailers(sendHeaders: true, discardingQueued: false))
        var failed = ServerStreamStateMachine()
        _ = failed.startStreaming()
        _ = failed.handlerFinished()
        #expect(failed.end(succeeded: false) == .trailersOnly)
    }

    @Test func aStreamingCallEndedByTheTransportDropsWhatItsHandlerQueued() {
        var stream = ServerStreamStateMachine()
        _ = stream.startStreaming()
        _ = stream.willWrite()
        // The deadline passes while the handler still runs: the client gets the status at once.
        #expect(stream.end(succeeded: false) == .streamingTrailers(sendHeaders: false, discardingQueued: true))
        #expect(stream.handlerFinished() == false)
        var returned = ServerStreamStateMachine()
        _ = returned.startStreaming()
        _ = returned.willWrite()
        _ = returned.handlerFinished()
        // The handler itself threw after writing: what it wrote goes first.
        #expect(returned.end(succeeded: false) == .streamingTrailers(sendHeaders: false, discardingQueued: false))
    }
}
