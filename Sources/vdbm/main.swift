import ArgumentParser
import Logging
import MilvusClient
import NIOPosix
import VDBMBench
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
        version: VDBMVersion.full,
        subcommands: [Serve.self, CheckConfig.self, HashKey.self, ConfigReference.self, Bench.self],
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
            let options = self.options
            try await Daemon.run(try options.load(), reload: { try options.load() })
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

/// Prints the configuration reference (`docs/configuration.md`) from the table of keys.
struct ConfigReference: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config-reference",
        abstract: "Print every configuration key as Markdown (docs/configuration.md is this output).")

    func run() {
        print(ConfigurationReference.markdown(), terminator: "")
    }
}

/// A load generator for searches: drives `vdbm.v1.VectorDB/Search` on any vdbm, or Milvus's own
/// `Search` for comparison, with many distinct query vectors, and reports throughput, latency
/// percentiles and outcomes.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load-test searches on a vdbm (or on Milvus directly) with distinct query vectors.")

    @Option(help: "host:port of the vdbm (or, with --milvus, of the Milvus proxy).")
    var address = "127.0.0.1:50051"

    @Flag(help: "Send Milvus's own MilvusService/Search instead of vdbm.v1.VectorDB/Search.")
    var milvus = false

    @Option(help: "The collection to search.")
    var collection: String

    @Option(help: "The vector field (Milvus's anns_field; with --milvus only).")
    var vectorField = "vector"

    @Option(help: "Dimension of the generated query vectors (not with --vectors-file).")
    var dimension: Int?

    @Option(help: "Distinct query vectors to generate and cycle through.")
    var queries = 10_000

    @Option(help: "Seed of the generated vectors (uniform in [0, 1)).")
    var seed: UInt64 = 1

    @Option(help: "Read the query vectors from a text file instead: one vector a line, components separated by commas or spaces.")
    var vectorsFile: String?

    @Option(help: "Hits per query vector (top-k).")
    var limit = 10

    @Option(help: "Query vectors in each call (Milvus's nq), or rows in each call with --insert.")
    var vectorsPerCall = 1

    @Flag(help: "Insert the vectors instead of searching: each call writes --vectors-per-call rows to a collection with an auto-id key and the vector field only.")
    var insert = false

    @Option(help: "A search parameter as key=integer, e.g. ef=64 (repeatable).")
    var param: [String] = []

    @Option(help: "A filter expression.")
    var filter = ""

    @Option(help: "HTTP/2 connections.")
    var connections = 1

    @Option(help: "Calls in flight on each connection.")
    var streams = 1

    @Option(help: "Seconds to measure (unless --total).")
    var duration: Double = 10

    @Option(help: "Measure this many calls instead of a duration.")
    var total: Int?

    @Option(help: "Seconds of calls before measuring.")
    var warmup: Double = 1

    @Option(help: "Deadline of each call, in seconds.")
    var timeout: Double = 10

    @Option(help: "vdbm API key (sent as authorization: Bearer <key>); '-' reads it from standard input.")
    var apiKey: String?

    @Option(help: "Milvus user, with --milvus (the password from standard input with --milvus-password -).")
    var milvusUser: String?

    @Option(help: "Milvus password, with --milvus-user ('-' reads it from standard input).")
    var milvusPassword: String?

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Option(help: "Also write an HTML page with the run's latency by percentile and its throughput over time.")
    var html: String?

    @Option(help: "The title of the run in the --html page (default: the target and concurrency).")
    var title: String?

    func validate() throws {
        guard connections >= 1, streams >= 1 else { throw ValidationError("--connections and --streams must be at least 1") }
        guard vectorsFile != nil || (dimension ?? 0) > 0 else { throw ValidationError("give --dimension or --vectors-file") }
        guard queries >= 1 else { throw ValidationError("--queries must be at least 1") }
        guard vectorsPerCall >= 1 else { throw ValidationError("--vectors-per-call must be at least 1") }
        guard duration > 0, warmup >= 0, timeout > 0 else { throw ValidationError("durations must be positive") }
        if let total, total < 1 { throw ValidationError("--total must be at least 1") }
    }

    func run() async throws {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
            throw ValidationError("--address must be host:port")
        }
        var params: [(key: String, value: Int64)] = []
        for entry in param {
            let parts = entry.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let value = Int64(parts[1]) else { throw ValidationError("--param \(entry): expected key=integer") }
            params.append((String(parts[0]), value))
        }
        var authorization: String?
        if milvus, let user = milvusUser {
            let password = milvusPassword == "-" ? (readLine() ?? "") : (milvusPassword ?? "")
            authorization = MilvusCredentials.password(user: user, password: password).headerValue
        } else if let apiKey {
            authorization = "Bearer " + (apiKey == "-" ? (readLine() ?? "") : apiKey)
        }
        let vectors = try vectorsFile.map { path throws in try QueryVectors.read(path: path) }
            ?? QueryVectors.random(count: queries, dimension: dimension ?? 0, seed: seed)
        let plan = BenchPlan(host: String(address[..<colon]), port: port, target: milvus ? .milvus : .vdbm, collection: collection,
                             vectorField: vectorField, limit: limit, vectorsPerCall: vectorsPerCall, insert: insert, params: params, filter: filter, connections: connections,
                             streams: streams, stop: total.map { .total($0) } ?? .after(.milliseconds(Int64(duration * 1000))),
                             warmup: .milliseconds(Int64(warmup * 1000)), timeout: .milliseconds(Int64(timeout * 1000)),
                             authorization: authorization)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let report = try await BenchRunner.run(plan, vectors: vectors, group: group, logger: Logger(label: "vdbm.bench"))
        try await group.shutdownGracefully()
        if let html {
            let name = title ?? "\(milvus ? "Milvus Search" : insert ? "vdbm.v1 Insert" : "vdbm.v1 Search") at \(address), "
                + "concurrency \(plan.concurrency)"
            try TextFile.write(BenchChart.page([(name, report)]), to: html)
        }
        print(json ? report.json : report.table)
    }
}
