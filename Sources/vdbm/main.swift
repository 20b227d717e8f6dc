import ArgumentParser
import VDBMDaemon
import VDBMUtils

#if canImport(Glibc)
import Glibc
#endif

/// The `vdbm` command line.
@main
struct VDBMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vdbm",
        abstract: "A gRPC daemon in front of Milvus.",
        version: VDBMVersion.current,
        subcommands: [Serve.self, CheckConfig.self, HashKey.self],
        defaultSubcommand: Serve.self)
}

/// Options shared by the commands that read a configuration.
struct ConfigurationOptions: ParsableArguments {
    @Option(name: .long, help: "YAML configuration file (e.g. Config/vdbm.yaml); defaults only when omitted.")
    var config: String?

    @Option(name: .long, help: "Override one key, e.g. --set server.port=50052 (repeatable).")
    var set: [String] = []

    @Option(name: .long, help: "Shortcut for --set server.host=...")
    var host: String?

    @Option(name: .long, help: "Shortcut for --set server.port=...")
    var port: Int?

    @Option(name: .long, help: "Shortcut for --set server.unix_socket=...")
    var unixSocket: String?

    @Option(name: .long, help: "Shortcut for --set logging.level=...")
    var logLevel: String?

    func load() throws -> VDBMConfiguration {
        var overrides = set
        if let host { overrides.append("server.host=\(host)") }
        if let port { overrides.append("server.port=\(port)") }
        if let unixSocket { overrides.append("server.unix_socket=\(unixSocket)") }
        if let logLevel { overrides.append("logging.level=\(logLevel)") }
        do {
            return try VDBMConfiguration.load(filePath: config, environment: currentEnvironment(),
                                              overrides: overrides)
        } catch {
            throw ValidationError(error.description)
        }
    }

    private func currentEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            entry += 1
        }
        return result
    }
}

extension VDBMCommand {
    /// Runs the daemon until SIGTERM or SIGINT.
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the gRPC daemon.")

        @OptionGroup var options: ConfigurationOptions

        func run() async throws {
            try await Daemon.run(try options.load())
        }
    }

    /// Validates a configuration and exits; for CI and deploy scripts.
    struct CheckConfig: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "check-config",
                                                        abstract: "Validate the configuration and exit.")

        @OptionGroup var options: ConfigurationOptions

        func run() async throws {
            _ = try options.load()
            print("configuration is valid")
        }
    }
}

/// Prints the SHA-256 of an API key, the form `auth.api_keys` stores.
struct HashKey: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash-key",
        abstract: "Print the SHA-256 of an API key, for auth.api_keys (name:role:<this>).")

    @Argument(help: "The API key (or '-' to read it from standard input, keeping it out of the shell history).")
    var key: String

    func run() throws {
        var text = key
        if key == "-" { text = readLine(strippingNewline: true) ?? "" }
        guard !text.isEmpty else { throw ValidationError("the key is empty") }
        print(SHA256.hexDigest(Array(text.utf8)))
    }
}
