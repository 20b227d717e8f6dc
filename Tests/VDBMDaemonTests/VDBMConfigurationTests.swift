import Foundation
import Testing
@testable import VDBMDaemon

@Suite struct VDBMConfigurationTests {
    /// The repository's Config/vdbm.yaml, found from this file's path.
    private static let configFile: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/") + "/Config/vdbm.yaml"
    }()

    private func temporaryFile(_ text: String) -> String {
        let path = NSTemporaryDirectory() + "vdbm-config-test-\(UUID().uuidString).yaml"
        try! text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func defaultsApplyWithoutAFile() throws {
        let configuration = try VDBMConfiguration.load(filePath: nil, environment: [:], overrides: [])
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 50051)
        #expect(configuration.unixSocket == nil)
        #expect(configuration.maxMessageBytes == 64 << 20)
        #expect(configuration.defaultTimeout == .seconds(30))
        #expect(configuration.logLevel == .info)
        #expect(configuration.accessLog)
    }

    @Test func configurationReferenceIsWrittenFromTheKeys() throws {
        let path = Self.configFile.replacingOccurrences(of: "/Config/vdbm.yaml", with: "/docs/configuration.md")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text == ConfigurationReference.markdown(), "docs/configuration.md is stale: run make docs")
        for key in ConfigurationKey.all { #expect(text.contains("| `\(key.name)` |"), "key \(key.name)") }
    }

    @Test func shippedFileListsEveryKeyWithItsDefault() throws {
        let text = try String(contentsOfFile: Self.configFile, encoding: .utf8)
        let values = try YAMLFlattener.flatten(text, path: Self.configFile)
        for key in ConfigurationKey.all {
            // "" and an unset value both mean the default "" (unix_socket).
            #expect((values[key.name] ?? "") == key.defaultValue, "key \(key.name)")
        }
        #expect(Set(values.keys).isSubset(of: Set(ConfigurationKey.all.map(\.name))))
        #expect(try VDBMConfiguration.load(filePath: Self.configFile, environment: [:], overrides: [])
            == VDBMConfiguration.load(filePath: nil, environment: [:], overrides: []))
    }

    @Test func environmentBeatsFileAndFlagsBeatEnvironment() throws {
        let path = temporaryFile("server:\n  port: 6000\n  host: 0.0.0.0\nlogging:\n  level: debug\n")
        let fromFile = try VDBMConfiguration.load(filePath: path, environment: [:], overrides: [])
        #expect(fromFile.port == 6000 && fromFile.host == "0.0.0.0" && fromFile.logLevel == .debug)
        let fromEnvironment = try VDBMConfiguration.load(filePath: path, environment: ["VDBM_SERVER_PORT": "7000"], overrides: [])
        #expect(fromEnvironment.port == 7000)
        let fromFlags = try VDBMConfiguration.load(filePath: path, environment: ["VDBM_SERVER_PORT": "7000"],
                                                   overrides: ["server.port=8000", "logging.access_log = false"])
        #expect(fromFlags.port == 8000)
        #expect(!fromFlags.accessLog)
    }

    @Test func unknownKeyInFileIsNamed() {
        let path = temporaryFile("server:\n  prot: 1\n")
        #expect(throws: ConfigurationError.unknownKey(key: "server.prot", source: path)) {
            try VDBMConfiguration.load(filePath: path, environment: [:], overrides: [])
        }
    }

    @Test func anUnknownVDBMVariableStopsVdbmAndSuggestsTheNearestKey() {
        // A typo for VDBM_AUTH_ENABLED used to pass, leaving auth off.
        #expect(throws: ConfigurationError.unknownEnvironmentVariable(name: "VDBM_AUTH_ENABLE", suggestion: "VDBM_AUTH_ENABLED")) {
            try VDBMConfiguration.load(filePath: nil, environment: ["VDBM_AUTH_ENABLE": "true"], overrides: [])
        }
        #expect(throws: ConfigurationError.unknownEnvironmentVariable(name: "VDBM_SEVRER_PORT", suggestion: "VDBM_SERVER_PORT")) {
            try VDBMConfiguration.load(filePath: nil, environment: ["VDBM_SEVRER_PORT": "1"], overrides: [])
        }
        #expect(throws: ConfigurationError.unknownEnvironmentVariable(name: "VDBM_SOMETHING_ELSE_ENTIRELY", suggestion: nil)) {
            try VDBMConfiguration.load(filePath: nil, environment: ["VDBM_SOMETHING_ELSE_ENTIRELY": "1"], overrides: [])
        }
        // Other variables are not vdbm's business.
        #expect(throws: Never.self) {
            try VDBMConfiguration.load(filePath: nil, environment: ["PATH": "/bin", "VDBMX": "1"], overrides: [])
        }
    }

    @Test func editDistanceCountsSingleCharacterEdits() {
        #expect(ConfigurationKey.editDistance("VDBM_AUTH_ENABLE", "VDBM_AUTH_ENABLED") == 1)
        #expect(ConfigurationKey.editDistance("kitten", "sitting") == 3)
        #expect(ConfigurationKey.editDistance("", "abc") == 3)
        #expect(ConfigurationKey.editDistance("abc", "") == 3)
    }

    @Test func badValueNamesKeyValueAndSource() {
        #expect(throws: ConfigurationError.invalidValue(key: "server.port", value: "70000",
                                                        expected: "an integer from 0 to 65535",
                                                        source: "environment VDBM_SERVER_PORT")) {
            try VDBMConfiguration.load(filePath: nil, environment: ["VDBM_SERVER_PORT": "70000"], overrides: [])
        }
        #expect(throws: ConfigurationError.self) {
            try VDBMConfiguration.load(filePath: nil, environment: [:], overrides: ["logging.access_log=maybe"])
        }
        #expect(throws: ConfigurationError.self) {
            try VDBMConfiguration.load(filePath: nil, environment: [:], overrides: ["server.default_timeout_seconds=0"])
        }
    }

    @Test func tracingIsOffWithoutAnEndpointAndTakesOnePlaintextCollector() throws {
        #expect(try VDBMConfiguration.load(filePath: nil, environment: [:], overrides: []).tracing == nil)
        for endpoint in ["otel:4317", "http://otel:4317", "http://otel:4317/"] {
            let configuration = try VDBMConfiguration.load(
                filePath: nil, environment: ["VDBM_TRACING_OTLP_ENDPOINT": endpoint],
                overrides: ["tracing.sample_ratio=0.01", "tracing.service_name=search-sidecar"])
            #expect(configuration.tracing == TracingSettings(host: "otel", port: 4317, sampleRatio: 0.01,
                                                             serviceName: "search-sidecar"))
        }
        for endpoint in ["https://otel:4317", "otel:4317,otel2:4317", "otel", "otel:0", "http://otel:4317/v1/traces"] {
            #expect(throws: ConfigurationError.self, "\(endpoint)") {
                try VDBMConfiguration.load(filePath: nil, environment: [:], overrides: ["tracing.otlp_endpoint=\(endpoint)"])
            }
        }
        for ratio in ["-0.1", "1.5", "half", "nan"] {
            #expect(throws: ConfigurationError.self, "\(ratio)") {
                try VDBMConfiguration.load(filePath: nil, environment: [:],
                                           overrides: ["tracing.otlp_endpoint=otel:4317", "tracing.sample_ratio=\(ratio)"])
            }
        }
    }

    @Test func malformedOverridesAndFilesAreReported() {
        #expect(throws: ConfigurationError.malformedOverride("server.port")) {
            try VDBMConfiguration.load(filePath: nil, environment: [:], overrides: ["server.port"])
        }
        #expect(throws: ConfigurationError.unknownKey(key: "nope", source: "--set")) {
            try VDBMConfiguration.load(filePath: nil, environment: [:], overrides: ["nope=1"])
        }
        let listFile = temporaryFile("server:\n  host: [a, b]\n")
        #expect(throws: ConfigurationError.self) {
            try VDBMConfiguration.load(filePath: listFile, environment: [:], overrides: [])
        }
        let brokenFile = temporaryFile("server: [\n")
        #expect(throws: ConfigurationError.self) {
            try VDBMConfiguration.load(filePath: brokenFile, environment: [:], overrides: [])
        }
        #expect(throws: ConfigurationError.self) {
            try VDBMConfiguration.load(filePath: "/nonexistent/vdbm.yaml", environment: [:], overrides: [])
        }
    }

    @Test func environmentNamesFollowTheKeys() {
        #expect(ConfigurationKey.byName["server.max_message_bytes"]?.environmentName == "VDBM_SERVER_MAX_MESSAGE_BYTES")
    }

    @Test func serverConfigurationCarriesTheLimits() throws {
        let configuration = try VDBMConfiguration.load(
            filePath: nil, environment: [:],
            overrides: ["server.unix_socket=/tmp/x.sock", "server.max_concurrent_streams=7", "server.max_header_list_bytes=4096"])
        let server = Daemon.serverConfiguration(configuration)
        #expect(server.unixSocketPath == "/tmp/x.sock")
        #expect(server.limits.http2.maxConcurrentStreams == 7)
        #expect(server.limits.http2.maxHeaderListSize == 4096)
        #expect(server.limits.maxMessageBytes == 64 << 20)
    }
}
