import Logging
import Synchronization
import Testing
@testable import GRPCNGHTTP2

private final class Log: Sendable {
    let seen = Mutex<[String]>([])
    func append(_ line: String) { seen.withLock { $0.append(line) } }
    var lines: [String] { seen.withLock { $0 } }
}

/// Notes the call on the way in and out; applies only to methods whose policy is its tag.
private struct Tagging: ServerInterceptor {
    let tag: String
    let log: Log

    func applies(to method: MethodDescriptor) -> Bool { (method.policy as? String).map { $0.contains(tag) } ?? true }

    func intercept(_ call: ServerCall, next: @Sendable (ServerCall) async throws -> Void) async throws {
        log.append("\(tag) in \(call.method.path)")
        try await next(call)
        log.append("\(tag) out")
    }
}

private struct Refusing: ServerInterceptor {
    func applies(to method: MethodDescriptor) -> Bool { method.method != "Failing" }

    func intercept(_ call: ServerCall, next: @Sendable (ServerCall) async throws -> Void) async throws {
        throw GRPCStatus(.permissionDenied, "no")
    }
}

private struct DomainError: Error {}

/// One method of each kind, all logging when their handler runs.
private struct KindsService: GRPCService {
    let log: Log
    var serviceName: String { "s" }
    var methods: [MethodDescriptor: MethodHandler] {
        let log = self.log
        return [
            MethodDescriptor(service: "s", method: "Immediate", policy: "1 2"): .immediate { request, _ throws(GRPCStatus) in
                log.append("immediate"); return request + [1]
            },
            MethodDescriptor(service: "s", method: "Async", policy: "1 2"): .async { request, _ in
                log.append("async"); return request + [2]
            },
            MethodDescriptor(service: "s", method: "Streaming", policy: "1 2"): .streaming { requests, responses, _ in
                log.append("streaming")
                for try await request in requests { try await responses.write(request + [3]) }
            },
            MethodDescriptor(service: "s", method: "Open", policy: "none"): .immediate { request, _ throws(GRPCStatus) in request },
            MethodDescriptor(service: "s", method: "Failing", policy: "none"): .async { _, _ in throw DomainError() },
        ]
    }
}

@Suite struct ServerInterceptorTests {
    private let context = ServerCallContext(path: "/s/M", metadata: Metadata(), deadline: .after(.seconds(5)), peer: "p",
                                            requestID: "r", logger: Logger(label: "t"))

    private func router(_ interceptors: [any ServerInterceptor], log: Log,
                        errorMapping: GRPCRouter.ErrorMapping? = nil) -> GRPCRouter {
        GRPCRouter(services: [KindsService(log: log)], interceptors: interceptors, errorMapping: errorMapping)
    }

    private func unary(_ router: GRPCRouter, _ path: String, _ request: [UInt8]) async throws -> [UInt8] {
        switch router.route(path) {
        case .success(.async(let body)): return try await body(request, context)
        case .success(.immediate(let body)): return try body(request, context)
        default: Issue.record("no unary handler for \(path)"); return []
        }
    }

    @Test func everyKindOfMethodRunsBehindTheSameChainTheFirstInterceptorOutermost() async throws {
        let log = Log()
        let router = router([Tagging(tag: "1", log: log), Tagging(tag: "2", log: log)], log: log)
        #expect(try await unary(router, "/s/Immediate", [9]) == [9, 1])
        #expect(try await unary(router, "/s/Async", [9]) == [9, 2])
        guard case .success(.streaming(let body)) = router.route("/s/Streaming") else { Issue.record("no stream"); return }
        let response = UnaryResponse()
        try await body(RequestMessages(single: [9]), ResponseWriter(single: response), context)
        #expect(try response.take() == [9, 3])
        let expected = { (handler: String, method: String) in ["1 in /s/\(method)", "2 in /s/\(method)", handler, "2 out", "1 out"] }
        #expect(log.lines == expected("immediate", "Immediate") + expected("async", "Async") + expected("streaming", "Streaming"))
    }

    @Test func aMethodNoInterceptorAppliesToKeepsItsShape() {
        let router = router([Tagging(tag: "1", log: Log())], log: Log())
        guard case .success(.immediate) = router.route("/s/Open") else { Issue.record("an open method left the event loop"); return }
        guard case .success(.async) = router.route("/s/Immediate") else { Issue.record("an intercepted method stayed immediate"); return }
    }

    @Test func anInterceptorThatThrowsKeepsTheHandlerFromRunning() async throws {
        let log = Log()
        let router = router([Refusing()], log: log)
        await #expect(throws: GRPCStatus(.permissionDenied, "no")) { _ = try await unary(router, "/s/Async", []) }
        #expect(log.lines.isEmpty)
    }

    @Test func errorsAreMappedOnceForEveryMethodAndStatusesPassAsTheyAre() async throws {
        let mapping: GRPCRouter.ErrorMapping = { $0 is DomainError ? GRPCStatus(.notFound, "mapped") : nil }
        let router = router([Refusing()], log: Log(), errorMapping: mapping)
        await #expect(throws: GRPCStatus(.notFound, "mapped")) { _ = try await unary(router, "/s/Failing", []) }
        await #expect(throws: GRPCStatus(.permissionDenied, "no")) { _ = try await unary(router, "/s/Async", []) }
    }

    @Test func aUnaryMethodAnswersExactlyOnce() throws {
        let response = UnaryResponse()
        #expect(throws: GRPCStatus(.internal, "a unary method ended without an answer")) { _ = try response.take() }
        try response.set([1])
        #expect(throws: GRPCStatus(.internal, "a unary method answered more than once")) { try response.set([2]) }
        #expect(try response.take() == [1])
    }
}
