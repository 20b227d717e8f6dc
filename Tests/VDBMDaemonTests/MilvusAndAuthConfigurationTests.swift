import MilvusClient
import NIOPosix
import Testing
import VDBMService
import VDBMUtils
@testable import VDBMDaemon

@Suite struct MilvusAndAuthConfigurationTests {
    private func load(_ environment: [String: String] = [:], _ overrides: [String] = []) throws -> VDBMConfiguration {
        try VDBMConfiguration.load(filePath: nil, environment: environment, overrides: overrides)
    }

    @Test func defaultsPointAtALocalMilvusWithoutCredentialsOrAuth() throws {
        let configuration = try load()
        #expect(configuration.milvusEndpoints == [MilvusEndpoint(host: "127.0.0.1", port: 19530)])
        #expect(configuration.milvusConnectionsPerEndpoint == 2)
        #expect(configuration.milvusCredentials == nil)
        #expect(configuration.apiKeys == nil)
        #expect(configuration.retryPolicy == RetryPolicy(maxAttempts: 4, initialBackoff: .milliseconds(20), maxBackoff: .seconds(2)))
        #expect(configuration.requestLimits == RequestLimits())
    }

    @Test func endpointsParseAsACommaSeparatedList() throws {
        let configuration = try load(["VDBM_MILVUS_ENDPOINTS": "a:1, b.example:19530,[::1]:2"])
        #expect(configuration.milvusEndpoints == [MilvusEndpoint(host: "a", port: 1), MilvusEndpoint(host: "b.example", port: 19530),
                                                  MilvusEndpoint(host: "::1", port: 2)])
        for bad in ["", "nohost", "a:0", "a:x", ":5"] {
            #expect(throws: ConfigurationError.self, "\(bad)") { try load(["VDBM_MILVUS_ENDPOINTS": bad]) }
        }
    }

    @Test func credentialsAreUserAndPasswordOrAToken() throws {
        #expect(try load(["VDBM_MILVUS_USER": "root", "VDBM_MILVUS_PASSWORD": "Milvus"]).milvusCredentials
                == .password(user: "root", password: "Milvus"))
        #expect(try load(["VDBM_MILVUS_TOKEN": "t"]).milvusCredentials == .token("t"))
        #expect(throws: ConfigurationError.self) { try load(["VDBM_MILVUS_PASSWORD": "secret"]) }
        #expect(throws: ConfigurationError.self) { try load(["VDBM_MILVUS_USER": "u", "VDBM_MILVUS_TOKEN": "t"]) }
        // A rejected secret is never echoed back.
        do {
            _ = try load(["VDBM_MILVUS_PASSWORD": "hunter2"])
        } catch {
            #expect(!"\(error)".contains("hunter2"))
        }
    }

    @Test func apiKeysParseAndAuthNeedsAtLeastOne() throws {
        let hash = SHA256.hexDigest(Array("k".utf8))
        let configuration = try load(["VDBM_AUTH_ENABLED": "true", "VDBM_AUTH_API_KEYS": "ops:admin:\(hash), app:READ:\(hash.uppercased())"])
        #expect(configuration.apiKeys == [APIKey(name: "ops", sha256: SHA256.hash(Array("k".utf8)), role: .admin),
                                          APIKey(name: "app", sha256: SHA256.hash(Array("k".utf8)), role: .read)])
        #expect(throws: ConfigurationError.self) { try load(["VDBM_AUTH_ENABLED": "true"]) }
        for bad in ["ops:root:\(hash)", "ops:read:abc", "ops:read", ":read:\(hash)", "a:read:\(hash),a:write:\(hash)",
                    "ops:read:\(String(repeating: "g", count: 64))"] {
            #expect(throws: ConfigurationError.self, "\(bad)") { try load(["VDBM_AUTH_API_KEYS": bad]) }
        }
        // Keys listed while auth is off are checked but not used.
        #expect(try load(["VDBM_AUTH_API_KEYS": "ops:admin:\(hash)"]).apiKeys == nil)
    }

    @Test func limitsAndRetriesAreConfigurable() throws {
        let configuration = try load([:], ["limits.max_batch_rows=5", "limits.max_filter_bytes=100", "limits.max_search_vectors=3",
                                           "milvus.retry_max_attempts=1", "milvus.connections_per_endpoint=4"])
        #expect(configuration.requestLimits == RequestLimits(maxBatchRows: 5, maxFilterBytes: 100, maxSearchVectors: 3))
        #expect(configuration.retryPolicy.maxAttempts == 1)
        #expect(configuration.milvusConnectionsPerEndpoint == 4)
    }

    @Test func serverInfoReportsAnUnreachableMilvusAsEmpty() async throws {
        let configuration = try load(["VDBM_MILVUS_ENDPOINTS": "127.0.0.1:1", "VDBM_MILVUS_RETRY_MAX_ATTEMPTS": "1"])
        let (pool, milvus, _) = Daemon.milvus(configuration, group: MultiThreadedEventLoopGroup.singleton,
                                              logger: .init(label: "test"))
        let info = await Daemon.serverInfo(pool: pool, milvus: milvus, endpoints: configuration.milvusEndpoints)(.after(.seconds(2)))
        #expect(info.version == VDBMVersion.full)
        #expect(info.milvusEndpoints == ["127.0.0.1:1"])
        #expect(info.milvusVersion == "")
        #expect(info.connections == 2 && info.readyConnections == 0)
        await pool.shutdown()
    }
}

@Suite struct TLSConfigurationTests {
    private func load(_ overrides: [String]) throws(ConfigurationError) -> VDBMConfiguration {
        try VDBMConfiguration.load(filePath: nil, environment: [:], overrides: overrides)
    }

    @Test func tlsIsOffByDefaultBothWays() throws {
        let configuration = try load([])
        #expect(configuration.serverTLS == nil && configuration.milvusTLS == nil)
    }

    @Test func theListenerNeedsACertificateAndItsKeyTogether() throws {
        let on = try load(["server.tls.cert_file=/c.pem", "server.tls.key_file=/k.pem", "server.tls.client_ca_file=/ca.pem",
                           "server.tls.min_version=1.3"])
        #expect(on.serverTLS == ServerTLSSettings(certificateFile: "/c.pem", privateKeyFile: "/k.pem", clientCAFile: "/ca.pem",
                                                 minimumVersion: .v13))
        #expect(throws: ConfigurationError.invalidValue(key: "server.tls.key_file", value: "",
                                                        expected: "the private key of server.tls.cert_file", source: "default")) {
            try load(["server.tls.cert_file=/c.pem"])
        }
        #expect(throws: ConfigurationError.self) { try load(["server.tls.key_file=/k.pem"]) }
        #expect(throws: ConfigurationError.self) { try load(["server.tls.client_ca_file=/ca.pem"]) }
        #expect(throws: ConfigurationError.invalidValue(key: "server.tls.min_version", value: "1.1", expected: "1.2 or 1.3",
                                                        source: "--set")) {
            try load(["server.tls.cert_file=/c.pem", "server.tls.key_file=/k.pem", "server.tls.min_version=1.1"])
        }
    }

    @Test func milvusTLSSettingsApplyOnlyWhenTurnedOn() throws {
        #expect(try load(["milvus.tls_ca_file=/ca.pem"]).milvusTLS == nil)
        #expect(try load(["milvus.tls=true"]).milvusTLS == MilvusTLSSettings(caFile: nil, serverName: nil, certificateFile: nil,
                                                                           privateKeyFile: nil))
        let mutual = try load(["milvus.tls=true", "milvus.tls_ca_file=/ca.pem", "milvus.tls_server_name=milvus.internal",
                               "milvus.tls_cert_file=/c.pem", "milvus.tls_key_file=/k.pem"])
        #expect(mutual.milvusTLS == MilvusTLSSettings(caFile: "/ca.pem", serverName: "milvus.internal", certificateFile: "/c.pem",
                                                     privateKeyFile: "/k.pem"))
        #expect(throws: ConfigurationError.self) { try load(["milvus.tls=true", "milvus.tls_cert_file=/c.pem"]) }
    }

    @Test func unreadableCertificateFilesAreNamedByTheirKey() {
        let missing = ServerTLSSettings(certificateFile: "/no/such.pem", privateKeyFile: "/no/such.key", clientCAFile: nil,
                                        minimumVersion: .v12)
        #expect(throws: TLSSetupError(key: "server.tls.cert_file", path: "/no/such.pem", reason: "No such file or directory")) {
            _ = try TLSContexts.server(missing)
        }
        // A file that exists but holds no certificate.
        let garbage = "/proc/self/cmdline"
        #expect(throws: TLSSetupError.self) {
            _ = try TLSContexts.milvus(MilvusTLSSettings(caFile: garbage, serverName: nil, certificateFile: nil, privateKeyFile: nil))
        }
    }

    @Test func tlsFilesAreReloadableAndTurningTLSOnIsNot() {
        #expect(ConfigurationReload.isReloadable("server.tls.cert_file"))
        #expect(!ConfigurationReload.isReloadable("milvus.tls"))
    }
}
