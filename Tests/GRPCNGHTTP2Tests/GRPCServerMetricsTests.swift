import MetricsTestKit
import Testing
@testable import GRPCNGHTTP2

@Suite struct GRPCServerMetricsTests {
    private static let methods = ["/s/A", "/s/B"]

    private func record(_ method: String, routed: Bool = true, _ status: GRPCStatus.Code?, httpStatus: Int? = nil,
                        requestBytes: Int = 0, responseBytes: Int = 0) -> CallRecord {
        CallRecord(method: method, methodIndex: routed ? Self.methods.firstIndex(of: method) : nil, status: status, httpStatus: httpStatus, duration: .milliseconds(3),
                   peer: "p", requestID: "r", requestBytes: requestBytes, responseBytes: responseBytes)
    }

    @Test func callsAreCountedPerMethodAndCodeWithTheirLatency() throws {
        let backend = TestMetrics()
        let metrics = GRPCServerMetrics(methods: Self.methods, prefix: "test_", factory: backend)
        for _ in 0..<3 {
            metrics.callStarted(method: "/s/A", index: 0)
            metrics.callFinished(record("/s/A", .ok))
        }
        metrics.callStarted(method: "/s/A", index: 0)
        metrics.callFinished(record("/s/A", .notFound))
        let ok = try backend.expectCounter(metrics.labels.calls, [("grpc_method", "/s/A"), ("grpc_code", "OK")])
        let notFound = try backend.expectCounter(metrics.labels.calls,
                                                 [("grpc_method", "/s/A"), ("grpc_code", "NOT_FOUND")])
        #expect(ok.totalValue == 3)
        #expect(notFound.totalValue == 1)
        let latency = try backend.expectTimer(metrics.labels.duration, [("grpc_method", "/s/A"), ("grpc_code", "OK")])
        #expect(latency.values == [3_000_000, 3_000_000, 3_000_000])
    }

    @Test func inFlightRisesAtTheStartAndFallsAtTheEnd() throws {
        let backend = TestMetrics()
        let metrics = GRPCServerMetrics(methods: Self.methods, prefix: "test_", factory: backend)
        metrics.callStarted(method: "/s/A", index: 0)
        metrics.callStarted(method: "/s/A", index: 0)
        let inFlight = try backend.expectMeter(metrics.labels.inFlight, [("grpc_method", "/s/A")])
        #expect(inFlight.lastValue == 2)
        metrics.callFinished(record("/s/A", .cancelled))
        metrics.callFinished(record("/s/A", .ok))
        #expect(inFlight.lastValue == 0)
    }

    @Test func unroutedCallsShareOneMethodLabelAndHTTPRefusalsNameTheirStatus() throws {
        let backend = TestMetrics()
        let metrics = GRPCServerMetrics(methods: Self.methods, prefix: "test_", factory: backend)
        metrics.callFinished(record("/random/\(UInt64.random(in: 0...UInt64.max))", routed: false, .unimplemented))
        metrics.callFinished(record("/other/x", routed: false, .unimplemented))
        metrics.callFinished(record("/s/A", routed: false, nil, httpStatus: 405))
        #expect(try backend.expectCounter(metrics.labels.calls,
                                          [("grpc_method", "unknown"), ("grpc_code", "UNIMPLEMENTED")]).totalValue == 2)
        #expect(try backend.expectCounter(metrics.labels.calls,
                                          [("grpc_method", "unknown"), ("grpc_code", "HTTP_405")]).totalValue == 1)
        // An unrouted call never started, so it does not move in-flight.
        #expect(backend.meters.allSatisfy { ($0.lastValue ?? 0) == 0 })
    }

    @Test func messageBytesAddUpPerMethod() throws {
        let backend = TestMetrics()
        let metrics = GRPCServerMetrics(methods: Self.methods, prefix: "test_", factory: backend)
        metrics.callStarted(method: "/s/B", index: 1)
        metrics.callFinished(record("/s/B", .ok, requestBytes: 100, responseBytes: 7))
        metrics.callStarted(method: "/s/B", index: 1)
        metrics.callFinished(record("/s/B", .ok, requestBytes: 20, responseBytes: 3))
        #expect(try backend.expectCounter(metrics.labels.requestBytes, [("grpc_method", "/s/B")]).totalValue == 120)
        #expect(try backend.expectCounter(metrics.labels.responseBytes, [("grpc_method", "/s/B")]).totalValue == 10)
    }
}
