import Testing
@testable import GRPCNGHTTP2

private struct EchoService: GRPCService {
    var serviceName: String { "test.Echo" }
    var methods: [MethodDescriptor: MethodHandler] { .init(service: serviceName, handlersByName) }
    var handlersByName: [String: MethodHandler] {
        ["Say": .immediate { bytes, _ throws(GRPCStatus) in bytes }]
    }
}

private struct TwoMethodService: GRPCService {
    var serviceName: String { "test.Two" }
    var methods: [MethodDescriptor: MethodHandler] { .init(service: serviceName, handlersByName) }
    var handlersByName: [String: MethodHandler] {
        ["B": .immediate { bytes, _ throws(GRPCStatus) in bytes }, "A": .immediate { bytes, _ throws(GRPCStatus) in bytes }]
    }
}

private struct ProxyService: GRPCService {
    var serviceName: String { "test.Proxy" }
    var methods: [MethodDescriptor: MethodHandler] { .init(service: serviceName, handlersByName) }
    var handlersByName: [String: MethodHandler] { ["Known": .immediate { _, _ throws(GRPCStatus) in [1] }] }
    var fallback: (descriptor: MethodDescriptor, handler: MethodHandler)? {
        (MethodDescriptor(service: serviceName, method: "*"), .immediate { _, _ throws(GRPCStatus) in [2] })
    }
}

@Suite struct GRPCRouterTests {
    @Test func aServicesFallbackAnswersItsUnknownMethodsUnderOnePath() throws {
        let router = GRPCRouter(services: [ProxyService(), EchoService()])
        #expect(router.methodPaths == ["/test.Proxy/Known", "/test.Proxy/*", "/test.Echo/Say"])
        #expect(try router.resolve("/test.Proxy/Known").get().index == 0)
        #expect(try router.resolve("/test.Proxy/Anything").get().index == 1)
        #expect(try router.resolve("/test.Proxy/Other").get().index == 1)
        // Services without one keep answering UNIMPLEMENTED.
        #expect(throws: GRPCStatus.self) { try router.resolve("/test.Echo/Nope").get() }
    }

    private let router = GRPCRouter(services: [EchoService()])

    @Test func everyMethodHasAStableIndexIntoMethodPaths() throws {
        var router = GRPCRouter(services: [EchoService(), TwoMethodService()])
        #expect(router.methodPaths == ["/test.Echo/Say", "/test.Two/A", "/test.Two/B"])
        for (index, path) in router.methodPaths.enumerated() {
            #expect(try router.resolve(path).get().index == index)
        }
        // Registering a method again replaces its handler and keeps its index.
        router.register(EchoService())
        #expect(router.methodPaths.count == 3)
        #expect(try router.resolve("/test.Echo/Say").get().index == 0)
    }

    @Test func findsARegisteredMethod() throws {
        guard case .success(.immediate(let body)) = router.route("/test.Echo/Say") else {
            Issue.record("expected the handler"); return
        }
        let context = ServerCallContext(path: "/test.Echo/Say", metadata: Metadata(), deadline: .after(.seconds(1)),
                                        peer: "p", requestID: "r", logger: .init(label: "t"))
        #expect(try body([1, 2], context) == [1, 2])
        #expect(router.serviceNames == ["test.Echo"])
    }

    @Test(arguments: [
        ("/test.Echo/Shout", "unknown method Shout for service test.Echo"),
        ("/test.Other/Say", "unknown service test.Other"),
        ("test.Echo/Say", "malformed method path test.Echo/Say"),
        ("/", "malformed method path /"),
    ])
    func explainsWhyAPathHasNoHandler(path: String, message: String) {
        guard case .failure(let status) = router.route(path) else { Issue.record("expected a failure"); return }
        #expect(status == GRPCStatus(.unimplemented, message))
    }
}
