import GRPCNGHTTP2
import VDBMUtils

/// What every call to vdbm goes through, registered once on the router for every service:
/// authorization, then admission, then the handler; whatever either throws becomes its status by
/// ``ErrorMapping``. The access log and the metrics are the server's call observers, which also
/// see calls refused before any handler.
public enum CallPipeline {
    /// The interceptors, outermost first.
    public static func interceptors(settings: ServiceSettings, admission: AdmissionController?) -> [any ServerInterceptor] {
        var chain: [any ServerInterceptor] = [AuthorizationInterceptor(settings: settings)]
        if let admission { chain.append(AdmissionInterceptor(controller: admission)) }
        return chain
    }

    /// The router's error mapping: domain, decoding and admission errors to their statuses.
    public static let errorMapping: GRPCRouter.ErrorMapping = { error in ErrorMapping.mappedStatus(for: error) }

    /// `services` behind the pipeline.
    public static func router(_ services: [any GRPCService], settings: ServiceSettings,
                              admission: AdmissionController?) -> GRPCRouter {
        GRPCRouter(services: services, interceptors: interceptors(settings: settings, admission: admission),
                   errorMapping: errorMapping)
    }
}
