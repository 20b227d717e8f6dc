/// OpenTelemetry tracing (`tracing.*`): the collector spans go to, over OTLP/gRPC in plaintext,
/// the share of new traces recorded, and the name the spans carry.
public struct TracingSettings: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var sampleRatio: Double
    public var serviceName: String

    public init(host: String, port: Int, sampleRatio: Double, serviceName: String) {
        self.host = host
        self.port = port
        self.sampleRatio = sampleRatio
        self.serviceName = serviceName
    }
}
