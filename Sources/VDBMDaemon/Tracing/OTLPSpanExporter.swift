import CoreMetrics
import GRPCNGHTTP2
import Logging
import NIOCore
import ServiceLifecycle
import VDBMProtobuf
import VDBMUtils

/// Sends the spans calls recorded to an OpenTelemetry collector over OTLP/gRPC, on vdbm's own
/// HTTP/2 client (nghttp2) and protobuf-c: in batches, from a task of its own, never from a
/// call. Idle, it waits with no timer; once a span is recorded, it exports when a batch is
/// waiting or its interval is over. A collector that is down or
/// slow costs spans (counted), never calls: the recorder's buffer is bounded, and a failed export
/// is not retried. At shutdown it runs last: what the drained calls recorded is sent, then it
/// stops.
final class OTLPSpanExporter: Service, Sendable {
    private let recorder: SpanRecorder
    private let host: String
    private let port: Int
    private let origin: OTLPTraceExport.Origin
    private let interval: Duration
    private let exportTimeout: Duration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let exported = Counter(label: "vdbm_trace_spans_exported_total")
    private let dropped = Counter(label: "vdbm_trace_spans_dropped_total")

    init(recorder: SpanRecorder, settings: TracingSettings, origin: OTLPTraceExport.Origin, group: any EventLoopGroup,
         logger: Logger, interval: Duration = .seconds(1), exportTimeout: Duration = .seconds(5)) {
        self.recorder = recorder
        self.host = settings.host
        self.port = settings.port
        self.origin = origin
        self.group = group
        self.logger = logger
        self.interval = interval
        self.exportTimeout = exportTimeout
    }

    func run() async throws {
        var session = Session()
        let recorder = self.recorder
        // A wait for spans ends on a graceful shutdown, and on cancellation (the group stopping
        // because another service failed): closing the recorder ends it either way.
        await withTaskCancellationHandler {
            await exportUntilClosed(&session)
        } onCancel: {
            recorder.close()
        }
        recorder.close()
        await exportWaiting(&session)  // what the last calls recorded
        await session.connection?.close()
        logger.notice("trace export stopped", metadata: ["spans_exported": "\(session.exported)",
                                                         "spans_dropped": "\(recorder.droppedSpans + session.failed)"])
    }

    private func exportUntilClosed(_ session: inout Session) async {
        await withGracefulShutdownHandler {
            while !Task.isCancelled && !recorder.isClosed {
                // Idle: no timer runs until a span is recorded.
                await recorder.waitForSpans(atLeast: 1)
                let recorder = self.recorder, interval = self.interval
                let timer = Task {
                    try? await Task.sleep(for: interval)
                    recorder.wake()
                }
                await recorder.waitForSpans(atLeast: recorder.batchSize)
                timer.cancel()
                await exportWaiting(&session)
            }
        } onGracefulShutdown: {
            self.recorder.close()
        }
    }

    /// The connection, and what was counted so far.
    private struct Session {
        var connection: GRPCClientConnection?
        var exported = 0
        var failed = 0
        var droppedSeen = 0
        /// Whether the last export failed (one warning per run of failures).
        var failing = false
    }

    private func exportWaiting(_ session: inout Session) async {
        let droppedNow = recorder.droppedSpans
        if droppedNow > session.droppedSeen {
            dropped.increment(by: Int64(droppedNow - session.droppedSeen))
            session.droppedSeen = droppedNow
        }
        while true {
            let spans = recorder.take(upTo: recorder.batchSize)
            guard !spans.isEmpty else { return }
            await export(spans, &session)
        }
    }

    private func export(_ spans: [SpanRecord], _ session: inout Session) async {
        let request = OTLPTraceExport.request(spans, from: origin)
        let deadline = Deadline.after(exportTimeout)
        let failure: String
        do throws(GRPCCallError) {
            let connection: GRPCClientConnection
            if let open = session.connection, open.isUsable {
                connection = open
            } else {
                await session.connection?.close()
                session.connection = nil
                var configuration = GRPCClientConfiguration()
                configuration.connectTimeout = min(exportTimeout, .seconds(2))
                configuration.peerName = "OTLP collector"
                connection = try await GRPCClientConnection.connect(host: host, port: port, configuration: configuration,
                                                                    group: group, logger: logger)
                session.connection = connection
            }
            let response = try await connection.unary(path: OTLPTraceExport.path, request: request, deadline: deadline)
            if response.status.code == .ok, let message = response.message {
                let rejected = (try? OTLPTraceExport.rejected(inResponse: message))?.spans ?? 0
                let accepted = spans.count - Int(clamping: max(0, min(rejected, Int64(spans.count))))
                session.exported += accepted
                exported.increment(by: Int64(accepted))
                if rejected > 0 { countFailed(spans.count - accepted, &session) }
                if session.failing { logger.notice("trace export works again", metadata: ["collector": "\(host):\(port)"]) }
                session.failing = false
                return
            }
            failure = "\(response.status)"
        } catch {
            failure = "\(error)"
        }
        countFailed(spans.count, &session)
        if !session.failing {
            logger.warning("trace export failed: spans are dropped until the collector answers",
                           metadata: ["collector": "\(host):\(port)", "error": "\(failure)"])
        }
        session.failing = true
    }

    private func countFailed(_ count: Int, _ session: inout Session) {
        session.failed += count
        dropped.increment(by: Int64(count))
    }
}
