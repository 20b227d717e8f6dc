import Logging
import NIOCore
import NIOEmbedded
import Synchronization
import Testing
@testable import GRPCNGHTTP2
import VDBMUtils

private struct TestFailure: Error {}

/// Keeps every access-log record it is given.
private final class RecordingObserver: CallObserver {
    let started = Mutex<[String]>([])
    let records = Mutex<[CallRecord]>([])
    func callStarted(method: String, index: Int) { started.withLock { $0.append(method) } }
    func callFinished(_ record: CallRecord) { records.withLock { $0.append(record) } }
}

/// A service whose methods exercise both handler kinds and every way a handler can end.
private struct ProbeService: GRPCService {
    var serviceName: String { "test.Probe" }
    var methods: [MethodDescriptor: MethodHandler] { .init(service: serviceName, handlersByName) }
    var handlersByName: [String: MethodHandler] {
        [
            "Echo": .immediate { bytes, _ throws(GRPCStatus) in bytes },
            "Refuse": .immediate { _, _ throws(GRPCStatus) in throw GRPCStatus(.invalidArgument, "nope: 100%") },
            "AsyncEcho": .async { bytes, context in
                await Task.yield()
                return bytes + Array(context.requestID.utf8)
            },
            "AsyncNotFound": .async { _, _ in throw GRPCStatus(.notFound, "missing") },
            "AsyncCrash": .async { _, _ in throw TestFailure() },
            "Sleep": .async { _, _ in
                try await Task.sleep(for: .seconds(30))
                return []
            },
            "Trace": .async { _, _ in
                // What a Milvus call made from this handler would send.
                Array((TraceContext.current?.childTraceparent() ?? "none").utf8)
            },
            "Metadata": .immediate { _, context throws(GRPCStatus) in
                Array((context.metadata[text: "x-tenant"] ?? "-").utf8)
            },
        ]
    }
}

/// The harness, serving `ProbeService`.
private final class Harness: ServerHarness {
    init(limits: GRPCServerLimits = GRPCServerLimits(), observers: [any CallObserver] = []) async throws {
        try await super.init(services: [ProbeService()], limits: limits, observers: observers)
    }
}

@Suite struct GRPCServerConnectionHandlerTests {
    @Test func immediateHandlerAnswersWithHeadersMessageAndTrailers() async throws {
        let harness = try await Harness()
        let response = try await harness.call("/test.Probe/Echo", [1, 2, 3])
        #expect(response.headers[":status"] == "200")
        #expect(response.headers["content-type"] == "application/grpc")
        #expect(response.data == MessageFramer.frame([1, 2, 3]))
        #expect(response.grpcStatus == 0)
    }

    @Test func thrownStatusBecomesATrailersOnlyResponseWithEncodedMessage() async throws {
        let harness = try await Harness()
        let response = try await harness.call("/test.Probe/Refuse", [])
        #expect(response.data.isEmpty)
        #expect(response.grpcStatus == 3)
        #expect(response.grpcMessage == "nope: 100%25")
    }

    @Test func asyncHandlerAnswerComesBackToTheConnection() async throws {
        let harness = try await Harness()
        let response = try await harness.call("/test.Probe/AsyncEcho", [9], headers: [("x-request-id", "rid-7")])
        #expect(response.grpcStatus == 0)
        #expect(response.data == MessageFramer.frame([9] + Array("rid-7".utf8)))
    }

    @Test func everyCallReachesTheObserversOnceWithItsStatusAndRequestID() async throws {
        let observer = RecordingObserver()
        let harness = try await Harness(observers: [observer])
        _ = try await harness.call("/test.Probe/Echo", [1], headers: [("x-request-id", "rid-1")])
        _ = try await harness.call("/test.Probe/AsyncNotFound", [])
        _ = try await harness.call("/test.Probe/Nope", [])
        #expect(observer.started.withLock { $0 } == ["/test.Probe/Echo", "/test.Probe/AsyncNotFound"])
        let records = observer.records.withLock { $0 }
        #expect(records.map(\.routed) == [true, true, false])
        #expect(records[0].requestBytes == 1 && records[0].responseBytes == 1)
        let routed = Array(records.prefix(2))
        #expect(routed.map(\.method) == ["/test.Probe/Echo", "/test.Probe/AsyncNotFound"])
        #expect(routed.map(\.status) == [.ok, .notFound])
        #expect(routed.map(\.message) == ["", "missing"])
        #expect(routed[0].requestID == "rid-1")
        #expect(records.allSatisfy { !$0.peer.isEmpty && $0.httpStatus == nil })
        #expect(records[2].status == .unimplemented)
    }

    @Test func theTraceContextReachesTheHandlerAndTheRequestIDComesBack() async throws {
        let observer = RecordingObserver()
        let harness = try await Harness(observers: [observer])
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        let response = try await harness.call("/test.Probe/Trace", [], headers: [("traceparent", parent)])
        let child = String(decoding: response.data.dropFirst(5), as: UTF8.self)
        #expect(child.hasPrefix("00-4bf92f3577b34da6a3ce929d0e0e4736-") && child.hasSuffix("-01"))
        #expect(!child.contains("00f067aa0ba902b7"))
        #expect(response.headers["x-request-id"] == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(observer.records.withLock { $0.map(\.requestID) } == ["4bf92f3577b34da6a3ce929d0e0e4736"])
        // Without a traceparent the call still has a trace, and its own request id.
        let plain = try await harness.call("/test.Probe/Trace", [], headers: [("x-request-id", "rid-9")])
        #expect(String(decoding: plain.data.dropFirst(5), as: UTF8.self).hasPrefix("00-"))
        #expect(plain.headers["x-request-id"] == "rid-9")
        // Errors carry it too.
        let refused = try await harness.call("/test.Probe/Refuse", [], headers: [("x-request-id", "rid-10")])
        #expect(refused.headers["x-request-id"] == "rid-10")
    }

    @Test func asyncHandlerStatusErrorsKeepTheirCode() async throws {
        let harness = try await Harness()
        let response = try await harness.call("/test.Probe/AsyncNotFound", [])
        #expect(response.grpcStatus == 5)
        #expect(response.grpcMessage == "missing")
    }

    @Test func otherHandlerErrorsBecomeInternalWithoutDetail() async throws {
        let harness = try await Harness()
        let response = try await harness.call("/test.Probe/AsyncCrash", [])
        #expect(response.grpcStatus == 13)
        #expect(response.grpcMessage == "internal error")
    }

    @Test func deadlineAnswersASlowAsyncHandlerAndTheConnectionGoesOn() async throws {
        let harness = try await Harness()
        let streamID = harness.client.startCall(path: "/test.Probe/Sleep", message: [], extraHeaders: [("grpc-timeout", "50m")])
        try await harness.exchange()
        #expect(harness.client.responses[streamID]?.closed == false)
        await harness.channel.testingEventLoop.advanceTime(by: .milliseconds(100))
        try await harness.exchange()
        #expect(harness.client.responses[streamID]?.grpcStatus == 4)
        #expect(try await harness.call("/test.Probe/Echo", [5]).grpcStatus == 0)
    }

    @Test func defaultDeadlineAppliesWithoutGrpcTimeout() async throws {
        let harness = try await Harness(limits: GRPCServerLimits(defaultTimeout: .milliseconds(20)))
        let streamID = harness.client.startCall(path: "/test.Probe/Sleep", message: [])
        try await harness.exchange()
        await harness.channel.testingEventLoop.advanceTime(by: .milliseconds(50))
        try await harness.exchange()
        #expect(harness.client.responses[streamID]?.grpcStatus == 4)
    }

    @Test func metadataReachesTheHandler() async throws {
        let harness = try await Harness()
        let response = try await harness.call("/test.Probe/Metadata", [], headers: [("x-tenant", "blue")])
        #expect(response.data == MessageFramer.frame(Array("blue".utf8)))
    }

    @Test func unknownMethodIsUnimplemented() async throws {
        let harness = try await Harness()
        let response = try await harness.call("/test.Probe/Missing", [])
        #expect(response.grpcStatus == 12)
        #expect(response.grpcMessage == "unknown method Missing for service test.Probe")
    }

    @Test func requestWithoutMessageIsInternal() async throws {
        let harness = try await Harness()
        let response = try await harness.call("/test.Probe/Echo", nil)
        #expect(response.grpcStatus == 13)
    }

    @Test func oversizedMessageIsResourceExhausted() async throws {
        let harness = try await Harness(limits: GRPCServerLimits(maxMessageBytes: 1024))
        let response = try await harness.call("/test.Probe/Echo", Array(repeating: 7, count: 2000))
        #expect(response.grpcStatus == 8)
        #expect(try await harness.call("/test.Probe/Echo", [1]).grpcStatus == 0)
    }

    @Test func callsOverTheSharedMemoryBudgetAreRefusedAndGiveTheirBytesBack() async throws {
        let harness = try await Harness(limits: GRPCServerLimits(maxMessageBytes: 1 << 20, maxBufferedRequestBytes: 1000))
        let refused = try await harness.call("/test.Probe/Echo", Array(repeating: 1, count: 1500))
        #expect(refused.grpcStatus == 8)
        #expect(refused.grpcMessage?.contains("too many request bytes") == true)
        #expect(harness.budget.inUse == 0)
        #expect(try await harness.call("/test.Probe/Echo", Array(repeating: 2, count: 900)).grpcStatus == 0)
        #expect(harness.budget.inUse == 0)
    }

    @Test func largeMessageCrossesManyFramesBothWays() async throws {
        let harness = try await Harness()
        let payload = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let response = try await harness.call("/test.Probe/Echo", payload)
        #expect(response.grpcStatus == 0)
        #expect(response.data == MessageFramer.frame(payload))
    }

    @Test func manyConcurrentCallsOnOneConnectionAllComplete() async throws {
        let harness = try await Harness()
        let streams = (0..<40).map { index in
            harness.client.startCall(path: index % 2 == 0 ? "/test.Probe/Echo" : "/test.Probe/AsyncEcho", message: [UInt8(index)])
        }
        try await harness.exchange()
        try await harness.settle { streams.allSatisfy { harness.client.responses[$0]?.closed == true } }
        for streamID in streams {
            #expect(harness.client.responses[streamID]?.grpcStatus == 0)
        }
    }

    /// The final GOAWAY, read raw: nghttp2's client session does not report a second GOAWAY.
    private static let finalGoAway: [UInt8] = [0, 0, 8, 7, 0, 0, 0, 0, 0] + [0, 0, 0, 1] + [0, 0, 0, 0]  // last stream 1, NO_ERROR

    @Test func quiesceSendsANoticeAndAPingThenTheFinalGoAwayOnTheAck() async throws {
        let harness = try await Harness()
        #expect(try await harness.call("/test.Probe/Echo", [1]).grpcStatus == 0)
        harness.channel.pipeline.fireUserInboundEventTriggered(GRPCServerQuiesceEvent())
        let notice = try #require(try await harness.channel.readOutbound(as: ByteBuffer.self))
        try harness.client.receive(notice)
        #expect(harness.client.goAwayLastStreamID == Int32.max)
        // The client's PING ACK (nghttp2 answers by itself) brings the final GOAWAY: no timer.
        try await harness.channel.writeInbound(try harness.client.outbound())
        let final = try #require(try await harness.channel.readOutbound(as: ByteBuffer.self))
        #expect(Array(final.readableBytesView) == Self.finalGoAway)
        try await harness.channel.closeFuture.get()
    }

    @Test func quiesceSendsTheFinalGoAwayAfterASecondWithoutAnAck() async throws {
        let harness = try await Harness()
        #expect(try await harness.call("/test.Probe/Echo", [1]).grpcStatus == 0)
        harness.channel.pipeline.fireUserInboundEventTriggered(GRPCServerQuiesceEvent())
        _ = try #require(try await harness.channel.readOutbound(as: ByteBuffer.self))  // notice + PING, unanswered
        await harness.channel.testingEventLoop.advanceTime(by: .milliseconds(900))
        #expect(try await harness.channel.readOutbound(as: ByteBuffer.self) == nil)
        await harness.channel.testingEventLoop.advanceTime(by: .milliseconds(200))
        let final = try #require(try await harness.channel.readOutbound(as: ByteBuffer.self))
        #expect(Array(final.readableBytesView) == Self.finalGoAway)
        try await harness.channel.closeFuture.get()
    }

    @Test func pingsWhileIdleEndTheConnectionAtTheThirdStrike() async throws {
        let harness = try await Harness()
        #expect(try await harness.call("/test.Probe/Echo", [1]).grpcStatus == 0)
        for _ in 0..<3 {  // the first is free, then two strikes
            harness.client.session.submitPing()
            try await harness.exchange()
        }
        #expect(harness.client.goAwayLastStreamID == nil)
        // A response resets the count: two more are fine.
        #expect(try await harness.call("/test.Probe/Echo", [2]).grpcStatus == 0)
        for _ in 0..<2 {
            harness.client.session.submitPing()
            try await harness.exchange()
        }
        #expect(harness.client.goAwayLastStreamID == nil)
        harness.client.session.submitPing()
        try await harness.exchange()
        harness.client.session.submitPing()
        try await harness.exchange()
        #expect(harness.client.goAwayErrorCode == 11)  // ENHANCE_YOUR_CALM
        try await harness.channel.closeFuture.get()
    }

    @Test func aConnectionThatNeverSendsThePrefaceIsClosed() async throws {
        let channel = try await NIOAsyncTestingChannel { channel in
            try channel.pipeline.syncOperations.addHandler(GRPCServerConnectionHandler(
                router: GRPCRouter(), limits: GRPCServerLimits(prefaceTimeout: .milliseconds(200)),
                budget: RequestMemoryBudget(limit: 1 << 20), logger: Logger(label: "test"), observers: [], connectionTag: "t"))
        }
        // (The handler's timers use real deadlines: move the testing loop's clock to them, from a
        // moment taken before the connection opened, so that a slow machine cannot overshoot.)
        let beforeOpening = NIODeadline.now()
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).get()
        await channel.testingEventLoop.advanceTime(to: beforeOpening + .milliseconds(100))
        #expect(channel.isActive)
        await channel.testingEventLoop.advanceTime(to: .now() + .milliseconds(300))
        try await channel.closeFuture.get()
    }

    @Test func garbageInputClosesTheConnection() async throws {
        let harness = try await Harness()
        var garbage = ByteBuffer()
        garbage.writeString("GET / HTTP/1.1\r\n\r\n")
        let channel = try await NIOAsyncTestingChannel { channel in
            try channel.pipeline.syncOperations.addHandler(GRPCServerConnectionHandler(
                router: GRPCRouter(), limits: GRPCServerLimits(), budget: RequestMemoryBudget(limit: 1 << 20),
                logger: Logger(label: "test"), observers: [RecordingObserver()],
                connectionTag: "g"))
        }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).get()
        try await channel.writeInbound(garbage)
        try await channel.closeFuture.get()
        _ = harness
    }
}
