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
        #expect(info.version == VDBMVersion.current)
        #expect(info.milvusEndpoints == ["127.0.0.1:1"])
        #expect(info.milvusVersion == "")
        #expect(info.connections == 2 && info.readyConnections == 0)
        await pool.shutdown()
    }
}
