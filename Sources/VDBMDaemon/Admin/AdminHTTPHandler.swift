import NIOCore
import NIOHTTP1

/// What the admin listener serves: the answers are computed on the event loop, so each must be
/// quick and must not block (the metrics text is rendered from counters in memory and `/proc`).
struct AdminRoutes: Sendable {
    /// The Prometheus text exposition (format 0.0.4).
    var metrics: @Sendable () -> [UInt8]
    /// Whether Milvus is reachable (what Health reports).
    var isReady: @Sendable () -> Bool
}

/// Answers the admin listener's HTTP/1.1 requests: `GET /metrics`, `/healthz`, `/readyz`; 404 for
/// any other path, 405 for any other method. Request bodies are read and ignored; malformed
/// requests are answered 400 by NIO's `HTTPServerProtocolErrorHandler` and closed.
final class AdminHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: AdminRoutes
    private var head: HTTPRequestHead?

    init(routes: AdminRoutes) {
        self.routes = routes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break
        case .end:
            guard let head else { return }
            self.head = nil
            respond(to: head, context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // An idle connection (IdleStateHandler) is closed: the admin port is not a place to park.
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A malformed request was answered 400 by HTTPServerProtocolErrorHandler; the connection
        // cannot be trusted to be in step any more.
        context.close(promise: nil)
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let answer = Self.answer(method: head.method, uri: head.uri, routes: routes)
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: answer.contentType)
        headers.add(name: "content-length", value: String(answer.body.count))
        for (name, value) in answer.extraHeaders { headers.add(name: name, value: value) }
        if !head.isKeepAlive { headers.add(name: "connection", value: "close") }
        let responseHead = HTTPResponseHead(version: head.version, status: answer.status, headers: headers)
        context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
        if head.method != .HEAD && !answer.body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: answer.body)))), promise: nil)
        }
        let keepAlive = head.isKeepAlive
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { channel.close(promise: nil) }
        }
    }

    struct Answer {
        var status: HTTPResponseStatus
        var contentType = "text/plain; charset=utf-8"
        var body: [UInt8]
        var extraHeaders: [(String, String)] = []
    }

    /// The answer to one request: a pure function of the request line and the routes.
    static func answer(method: HTTPMethod, uri: String, routes: AdminRoutes) -> Answer {
        let path = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        guard ["/metrics", "/healthz", "/readyz"].contains(path) else {
            return Answer(status: .notFound, body: Array("not found: the admin listener serves /metrics, /healthz and /readyz\n".utf8))
        }
        guard method == .GET || method == .HEAD else {
            return Answer(status: .methodNotAllowed, body: Array("only GET (or HEAD) is allowed here\n".utf8),
                          extraHeaders: [("allow", "GET, HEAD")])
        }
        switch path {
        case "/metrics":
            return Answer(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8", body: routes.metrics())
        case "/healthz":
            return Answer(status: .ok, body: Array("ok\n".utf8))
        default:
            return routes.isReady()
                ? Answer(status: .ok, body: Array("ready\n".utf8))
                : Answer(status: .serviceUnavailable, body: Array("not ready: no usable Milvus connection\n".utf8))
        }
    }
}
