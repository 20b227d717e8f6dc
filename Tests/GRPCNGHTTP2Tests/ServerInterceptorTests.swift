import Logging
import Synchronization
import Testing
@testable import GRPCNGHTTP2

private final class Log: Sendable {
    let seen = Mutex<[String]>([])
}

/// Appends its tag to the request on the way in and to the answer on the way out.
private struct Tagging: ServerInterceptor {
    let tag: UInt8
    let log: Log

    func intercept(_ request: [UInt8], context: ServerCallContext, method: MethodDescriptor,
                   next: @Sendable ([UInt8], ServerCallContext) async throws -> [UInt8]) async throws -> [UInt8] {
        log.seen.withLock { $0.append("\(tag) \(method.path)") }
        return try await next(request + [tag], context) + [tag]
    }
}

private struct Refusing: ServerInterceptor {
    func intercept(_ request: [UInt8], context: ServerCallContext, method: MethodDescriptor,
                   next: @Sendable ([UInt8], ServerCallContext) async throws -> [UInt8]) async throws -> [UInt8] {
        throw GRPCStatus(.permissionDenied, "no")
    }
}

@Suite struct ServerInterceptorTests {
    private let context = ServerCallContext(path: "/s/M", metadata: Metadata(), deadline: .after(.seconds(5)), peer: "p",
                                            requestID: "r", logger: Logger(label: "t"))
    private let method = MethodDescriptor(service: "s", method: "M")

    @Test func theFirstInterceptorIsOutermost() async throws {
        let log = Log()
        let handled = Log()
        let chain: [any ServerInterceptor] = [Tagging(tag: 1, log: log), Tagging(tag: 2, log: log)]
        let call = chain.wrap({ request, _ in
            handled.seen.withLock { $0 = request.map(String.init) }
            return [0]
        }, method: method)
        #expect(try await call([9], context) == [0, 2, 1])
        #expect(handled.seen.withLock { $0 } == ["9", "1", "2"])
        #expect(log.seen.withLock { $0 } == ["1 /s/M", "2 /s/M"])
    }

    @Test func anInterceptorThatThrowsKeepsTheHandlerFromRunning() async throws {
        let ran = Log()
        let call = ([Refusing()] as [any ServerInterceptor]).wrap({ _, _ in
            ran.seen.withLock { $0.append("handler") }
            return []
        }, method: method)
        await #expect(throws: GRPCStatus.self) { try await call([], context) }
        #expect(ran.seen.withLock { $0 }.isEmpty)
    }
}
