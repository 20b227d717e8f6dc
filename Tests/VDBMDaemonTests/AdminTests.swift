import NIOHTTP1
import Prometheus
import Testing
@testable import VDBMDaemon

@Suite struct AdminTests {
    private func routes(ready: Bool = true) -> AdminRoutes {
        AdminRoutes(metrics: { Array("m 1\n".utf8) }, isReady: { ready })
    }

    @Test func theThreePathsAnswerGet() {
        #expect(AdminHTTPHandler.answer(method: .GET, uri: "/healthz", routes: routes()).status == .ok)
        let metrics = AdminHTTPHandler.answer(method: .GET, uri: "/metrics?x=1", routes: routes())
        #expect(metrics.status == .ok)
        #expect(metrics.contentType.hasPrefix("text/plain; version=0.0.4"))
        #expect(metrics.body == Array("m 1\n".utf8))
        #expect(AdminHTTPHandler.answer(method: .GET, uri: "/readyz", routes: routes(ready: true)).status == .ok)
    }

    @Test func readyzFollowsMilvus() {
        #expect(AdminHTTPHandler.answer(method: .GET, uri: "/readyz", routes: routes(ready: false)).status
            == .serviceUnavailable)
        // The process itself is still alive.
        #expect(AdminHTTPHandler.answer(method: .GET, uri: "/healthz", routes: routes(ready: false)).status == .ok)
    }

    @Test func otherPathsAre404AndOtherMethods405() {
        #expect(AdminHTTPHandler.answer(method: .GET, uri: "/", routes: routes()).status == .notFound)
        #expect(AdminHTTPHandler.answer(method: .GET, uri: "/metrics/x", routes: routes()).status == .notFound)
        let post = AdminHTTPHandler.answer(method: .POST, uri: "/metrics", routes: routes())
        #expect(post.status == .methodNotAllowed)
        #expect(post.extraHeaders.contains { $0.0 == "allow" })
    }

    @Test func expositionAddsHelpLinesAndProcessFigures() {
        let registry = PrometheusCollectorRegistry()
        registry.makeCounter(descriptor: MetricNameDescriptor(namespace: "vdbm", subsystem: "search", metricName: "batches",
                                                              unitName: "total", helpText: "")).increment(by: Int64(2))
        let text = String(decoding: MetricsExposition(registry: registry, version: "9.9.9", commit: "0123abcd4567",
                                                            droppedLogLines: { 4 }).render(),
                          as: UTF8.self)
        #expect(text.contains("# HELP vdbm_search_batches_total Milvus searches sent"))
        #expect(text.contains("# TYPE vdbm_search_batches_total counter\nvdbm_search_batches_total 2\n"))
        #expect(text.contains("\nvdbm_log_lines_dropped_total 4.0\n"))
        #expect(text.contains("vdbm_build_info{version=\"9.9.9\",commit=\"0123abcd4567\"} 1.0"))
        #expect(text.contains("\nprocess_resident_memory_bytes "))
        #expect(text.contains("\nprocess_open_fds "))
        // Every family has exactly one HELP and one TYPE line.
        let helps = text.split(separator: "\n").filter { $0.hasPrefix("# HELP ") }.count
        let types = text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.count
        #expect(helps == types)
    }
}
