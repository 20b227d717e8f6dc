import CVDBMProtos
import VDBMUtils

/// The OTLP/gRPC trace export call (`opentelemetry.proto.collector.trace.v1.TraceService/Export`):
/// vdbm's finished spans as one request, and what the collector answers.
public enum OTLPTraceExport {
    public static let path = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

    /// Who sends the spans: the `service.*` resource attributes and the instrumentation scope.
    public struct Origin: Sendable, Equatable {
        public var serviceName: String
        public var serviceVersion: String
        /// Further resource attributes (`service.instance.id`, ...).
        public var attributes: [String: String]

        public init(serviceName: String, serviceVersion: String, attributes: [String: String] = [:]) {
            self.serviceName = serviceName
            self.serviceVersion = serviceVersion
            self.attributes = attributes
        }
    }

    /// One `ExportTraceServiceRequest` carrying `spans`, all from `origin`.
    public static func request(_ spans: [SpanRecord], from origin: Origin) -> [UInt8] {
        ProtobufC.pack { arena in
            let resourceAttributes = [("service.name", SpanRecord.Value.string(origin.serviceName)),
                                      ("service.version", .string(origin.serviceVersion))]
                + origin.attributes.sorted { $0.key < $1.key }.map { ($0.key, SpanRecord.Value.string($0.value)) }
            let resource = arena.message(opentelemetry__proto__collector__trace__v1__resource__init) {
                let attributes = resourceAttributes.map { keyValue($0.0, $0.1, arena) }
                $0.n_attributes = attributes.count
                $0.attributes = arena.pointers(attributes)
            }
            let scope = arena.message(opentelemetry__proto__collector__trace__v1__instrumentation_scope__init) {
                $0.name = arena.string("vdbm")
                $0.version = arena.string(origin.serviceVersion)
            }
            let scopeSpans = arena.message(opentelemetry__proto__collector__trace__v1__scope_spans__init) {
                $0.scope = scope
                let messages = spans.map { span($0, arena) }
                $0.n_spans = messages.count
                $0.spans = arena.pointers(messages)
            }
            let resourceSpans = arena.message(opentelemetry__proto__collector__trace__v1__resource_spans__init) {
                $0.resource = resource
                $0.n_scope_spans = 1
                $0.scope_spans = arena.pointers([scopeSpans])
            }
            return arena.message(opentelemetry__proto__collector__trace__v1__export_trace_service_request__init) {
                $0.n_resource_spans = 1
                $0.resource_spans = arena.pointers([resourceSpans])
            }
        }
    }

    /// The collector's answer: spans it refused (0 when it took them all) and why.
    public static func rejected(inResponse bytes: [UInt8]) throws(ProtobufDecodingError) -> (spans: Int64, reason: String) {
        try ProtobufC.decode(bytes, messageType: "opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse",
                             unpack: opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack) {
            message throws(ProtobufDecodingError) in
            guard let partial = message.pointee.partial_success else { return (0, "") }
            return (partial.pointee.rejected_spans,
                    try ProtobufC.string(partial.pointee.error_message, field: "partial_success.error_message"))
        }
    }

    // MARK: Building messages

    private typealias SpanMessage = Opentelemetry__Proto__Collector__Trace__V1__Span
    private typealias KeyValueMessage = Opentelemetry__Proto__Collector__Trace__V1__KeyValue

    private static func span(_ record: SpanRecord, _ arena: ProtobufCArena) -> UnsafeMutablePointer<SpanMessage> {
        arena.message(opentelemetry__proto__collector__trace__v1__span__init) { span in
            span.trace_id = arena.binary(bigEndian(record.traceHigh) + bigEndian(record.traceLow))
            span.span_id = arena.binary(bigEndian(record.spanID))
            if record.parentSpanID != 0 { span.parent_span_id = arena.binary(bigEndian(record.parentSpanID)) }
            if let state = record.traceState, !state.isEmpty { span.trace_state = arena.string(state) }
            span.name = arena.string(record.name)
            span.kind = record.kind.rawValue
            span.start_time_unix_nano = record.startNanos
            span.end_time_unix_nano = record.endNanos
            span.flags = 1  // W3C trace flags: sampled
            let attributes = record.attributes.map { keyValue($0.key, $0.value, arena) }
            span.n_attributes = attributes.count
            span.attributes = arena.pointers(attributes)
            let links = record.links.map { link in
                arena.message(opentelemetry__proto__collector__trace__v1__link__init) {
                    $0.trace_id = arena.binary(bigEndian(link.traceHigh) + bigEndian(link.traceLow))
                    $0.span_id = arena.binary(bigEndian(link.spanID))
                    $0.flags = 1
                }
            }
            span.n_links = links.count
            span.links = arena.pointers(links)
            if let error = record.error {
                span.status = arena.message(opentelemetry__proto__collector__trace__v1__status__init) {
                    $0.code = 2
                    $0.message = arena.string(error)
                }
            }
        }
    }

    private static func keyValue(_ key: String, _ value: SpanRecord.Value, _ arena: ProtobufCArena)
        -> UnsafeMutablePointer<KeyValueMessage> {
        arena.message(opentelemetry__proto__collector__trace__v1__key_value__init) { pair in
            pair.key = arena.string(key)
            pair.value = arena.message(opentelemetry__proto__collector__trace__v1__any_value__init) { any in
                switch value {
                case .string(let text):
                    any.value_case = OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__ANY_VALUE__VALUE_STRING_VALUE
                    any.string_value = arena.string(text)
                case .int(let number):
                    any.value_case = OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__ANY_VALUE__VALUE_INT_VALUE
                    any.int_value = number
                case .bool(let flag):
                    any.value_case = OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__ANY_VALUE__VALUE_BOOL_VALUE
                    any.bool_value = flag ? 1 : 0
                }
            }
        }
    }

    private static func bigEndian(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) }
    }
}
