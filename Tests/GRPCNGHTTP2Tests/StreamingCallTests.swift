import NIOCore
import Synchronization
import Testing
@testable import GRPCNGHTTP2

/// How far a streaming handler got, read by the tests while it runs.
private final class Progress: Sendable {
    let written = Atomic<Int>(0)
    let mayRead = Atomic<Bool>(false)
}

/// Streaming methods of every kind, and every way one can end.
private struct StreamService: GRPCService {
    let progress: Progress
    var serviceName: String { "test.Stream" }
    var methods: [MethodDescriptor: MethodHandler] { .init(service: serviceName, handlersByName) }
    var handlersByName: [String: MethodHandler] {
        let progress = self.progress
        return [
            // [count, size]: `count` messages of `size` bytes, each filled with its index.
            "Repeat": .serverStreaming { request, responses, _ in
                for index in 0..<Int(request[0]) * 100 {
                    try await responses.write(Array(repeating: UInt8(truncatingIfNeeded: index), count: Int(request[1]) * 1024))
                    progress.written.add(1, ordering: .relaxed)
                }
            },
            "Sum": .clientStreaming { requests, _ in
                var count = 0
                var bytes = 0
                for try await message in requests {
                    count += 1
                    bytes += message.count
                }
                return Array("\(count):\(bytes)".utf8)
            },
            // Waits for the test's go before reading anything.
            "GatedSum": .clientStreaming { requests, _ in
                while !progress.mayRead.load(ordering: .relaxed) { try await Task.sleep(for: .milliseconds(1)) }
                var bytes = 0
                for try await message in requests { bytes += message.count }
                return Array("\(bytes)".utf8)
            },
            "Echo": .streaming { requests, responses, _ in
                for try await message in requests { try await responses.write(message.reversed()) }
            },
            "FailAfterTwo": .serverStreaming { _, responses, _ in
                try await responses.write([1])
                try await responses.write([2])
                throw GRPCStatus(.aborted, "stopped after two")
            },
            "Nothing": .serverStreaming { _, _, _ in },
            "Hang": .serverStreaming { _, responses, _ in
                try await responses.write([1])
                try await Task.sleep(for: .seconds(60))
            },
        ]
    }
}

@Suite struct StreamingCallTests {
    private let progress = Progress()

    private func harness(_ limits: GRPCServerLimits = GRPCServerLimits()) async throws -> ServerHarness {
        try await ServerHarness(services: [StreamService(progress: progress)], limits: limits)
    }

    @Test func serverStreamingSendsEveryMessageInOrderThenOK() async throws {
        let harness = try await harness()
        let response = try await harness.call("/test.Stream/Repeat", [3, 1])
        #expect(response.grpcStatus == 0)
        #expect(response.headers[":status"] == "200" && response.headers["x-request-id"] != nil)
        let messages = response.messages
        #expect(messages.count == 300)
        #expect(messages.enumerated().allSatisfy { $1 == Array(repeating: UInt8(truncatingIfNeeded: $0), count: 1024) })
    }

    @Test func clientStreamingReadsEveryMessageUntilTheClientHalfCloses() async throws {
        let harness = try await harness()
        let streamID = harness.client.startStreamingCall(path: "/test.Stream/Sum")
        for index in 0..<50 {
            harness.client.send(streamID, Array(repeating: 1, count: index))
            try await harness.exchange()
        }
        #expect(harness.client.responses[streamID]?.closed == false)
        harness.client.closeSend(streamID)
        try await harness.exchange()
        try await harness.settle { harness.client.responses[streamID]?.closed == true }
        let response = try #require(harness.client.responses[streamID])
        #expect(response.grpcStatus == 0)
        #expect(response.messages == [Array("50:1225".utf8)])
        #expect(harness.budget.inUse == 0)
    }

    @Test func bidirectionalAnswersEachMessageAsItArrives() async throws {
        let harness = try await harness()
        let streamID = harness.client.startStreamingCall(path: "/test.Stream/Echo")
        for index in 1...5 {
            harness.client.send(streamID, [UInt8(index), 0])
            try await harness.exchange()
            try await harness.settle { harness.client.responses[streamID]?.messages.count == index }
            #expect(harness.client.responses[streamID]?.messages.last == [0, UInt8(index)])
        }
        harness.client.closeSend(streamID)
        try await harness.exchange()
        try await harness.settle { harness.client.responses[streamID]?.closed == true }
        #expect(harness.client.responses[streamID]?.grpcStatus == 0)
    }

    @Test func aFailureAfterSomeMessagesEndsWithItsStatusInTrailers() async throws {
        let harness = try await harness()
        let response = try await harness.call("/test.Stream/FailAfterTwo", [])
        #expect(response.headers[":status"] == "200")
        #expect(response.trailers["grpc-status"] == "10")
        #expect(response.grpcMessage == "stopped after two")
        #expect(response.messages == [[1], [2]])
    }

    @Test func aStreamWithNoMessageEndsWithHeadersAndOKTrailers() async throws {
        let harness = try await harness()
        let response = try await harness.call("/test.Stream/Nothing", [])
        #expect(response.headers[":status"] == "200")
        #expect(response.trailers["grpc-status"] == "0")
        #expect(response.data.isEmpty)
    }

    @Test func serverStreamingWithoutARequestMessageIsInternal() async throws {
        let harness = try await harness()
        let response = try await harness.call("/test.Stream/Nothing", nil)
        #expect(response.grpcStatus == 13)
    }

    @Test func theDeadlineEndsAStreamThatAlreadySentMessages() async throws {
        let harness = try await harness()
        let streamID = harness.client.startCall(path: "/test.Stream/Hang", message: [], extraHeaders: [("grpc-timeout", "50m")])
        try await harness.exchange()
        try await harness.settle { harness.client.responses[streamID]?.messages.count == 1 }
        await harness.channel.testingEventLoop.advanceTime(by: .milliseconds(100))
        try await harness.exchange()
        let response = try #require(harness.client.responses[streamID])
        #expect(response.closed && response.trailers["grpc-status"] == "4")
        #expect(response.messages == [[1]])
    }

    @Test func aWriterWaitsWhileTheClientDoesNotRead() async throws {
        let harness = try await harness()
        // 2,000 messages of 4 KiB (8 MiB) towards a client with a 1 MiB window that stops reading.
        let streamID = harness.client.startCall(path: "/test.Stream/Repeat", message: [20, 4])
        try await harness.exchange(clientReads: false)
        try await harness.settle(clientReads: false) { false }  // a second of real time
        let written = progress.written.load(ordering: .relaxed)
        // The client's window (1 MiB) plus the server's queue (256 KiB) plus one message.
        #expect(written > 100 && written <= (1 << 20 + GRPCServerConnectionHandler.maxQueuedResponseBytes) / 4096 + 2)
        // Reading again lets the handler finish.
        try await harness.settle { harness.client.responses[streamID]?.closed == true }
        let response = try #require(harness.client.responses[streamID])
        #expect(response.grpcStatus == 0 && response.messages.count == 2000)
    }

    @Test func aClientIsHeldToOneWindowAheadOfAHandlerThatDoesNotRead() async throws {
        let harness = try await harness()
        let streamID = harness.client.startStreamingCall(path: "/test.Stream/GatedSum")
        let message = [UInt8](repeating: 9, count: 16 * 1024)
        for _ in 0..<256 { harness.client.send(streamID, message) }  // 4 MiB
        harness.client.closeSend(streamID)
        try await harness.settle { false }
        // The server holds what its 1 MiB stream window let in, not the 4 MiB.
        #expect(harness.budget.inUse > 0 && harness.budget.inUse <= (1 << 20) + message.count + 5)
        progress.mayRead.store(true, ordering: .relaxed)
        try await harness.settle { harness.client.responses[streamID]?.closed == true }
        let response = try #require(harness.client.responses[streamID])
        #expect(response.grpcStatus == 0)
        #expect(response.messages == [Array("\(256 * 16 * 1024)".utf8)])
        #expect(harness.budget.inUse == 0)
    }

    @Test func tooManyMessagesOnOneStreamIsResourceExhausted() async throws {
        let harness = try await harness(GRPCServerLimits(maxMessagesPerStream: 10))
        let streamID = harness.client.startStreamingCall(path: "/test.Stream/Sum")
        for _ in 0..<11 { harness.client.send(streamID, [1]) }
        harness.client.closeSend(streamID)
        try await harness.exchange()
        try await harness.settle { harness.client.responses[streamID]?.closed == true }
        let response = try #require(harness.client.responses[streamID])
        #expect(response.grpcStatus == 8)
        #expect(response.grpcMessage?.contains("server.max_messages_per_stream") == true)
    }

    @Test func aClientResetStopsTheHandlerAndFreesItsBytes() async throws {
        let harness = try await harness()
        let streamID = harness.client.startStreamingCall(path: "/test.Stream/GatedSum")
        harness.client.send(streamID, [UInt8](repeating: 1, count: 1000))
        try await harness.exchange()
        #expect(harness.budget.inUse > 0)
        harness.client.session.submitReset(streamID: streamID, errorCode: NGHTTP2Session.cancelErrorCode)
        try await harness.exchange()
        #expect(harness.budget.inUse == 0)
        // The connection goes on.
        #expect(try await harness.call("/test.Stream/Repeat", [1, 1]).messages.count == 100)
    }
}
