// swift-tools-version:6.2
import PackageDescription

// Every call runs through these targets; runtime exclusivity checks cost a fifth of their CPU
// (scripts/bench-health, scripts/bench-search). Debug builds, which run the tests, keep the checks.
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
// VDBMManager's generic search coalescer is used by the pass-through module too: its bodies are
// exported so that module specializes it (without, a pass-through search cost about 15% more
// vdbm CPU at 32 callers: scripts/bench-compare).
let exportsGenerics: [SwiftSetting] = hotPath + [.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))]

let package = Package(
    name: "vdbm",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "vdbm", targets: ["vdbm"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        // Libraries count through swift-metrics; the daemon exposes the counts in Prometheus's
        // text format (swift-prometheus: small, on swift-atomics and swift-metrics only).
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // Latency percentiles for `vdbm bench` (HdrHistogram: fixed memory, exact to 3 digits).
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        // TLS (and mTLS) for the gRPC listener and the Milvus connections: NIO's own TLS handler,
        // put in front of the nghttp2 handlers. It builds its BoringSSL copy (see the README for
        // the build time).
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        // System libraries, found through pkg-config (Debian: libnghttp2-dev, libprotobuf-c-dev).
        .systemLibrary(
            name: "CNGHTTP2",
            pkgConfig: "libnghttp2",
            providers: [.apt(["libnghttp2-dev"])]
        ),
        .systemLibrary(
            name: "CProtobufC",
            pkgConfig: "libprotobuf-c",
            providers: [.apt(["libprotobuf-c-dev"])]
        ),
        // The git commit of the build, for vdbm_build_info (scripts/stamp-commit writes it).
        .target(name: "CVDBMBuildInfo"),
        // protoc-c output for everything under Protos/ (scripts/gen-protos writes it).
        .target(
            name: "CVDBMProtos",
            dependencies: ["CProtobufC"],
            cSettings: [.headerSearchPath("include")]
        ),

        // Shared, dependency-light building blocks: logging, errors, backoff math.
        .target(
            name: "VDBMUtils",
            dependencies: [.product(name: "Logging", package: "swift-log")],
            swiftSettings: hotPath
        ),
        // gRPC over HTTP/2 (nghttp2) on NIO channels. Knows nothing about vectors or Milvus.
        .target(
            name: "GRPCNGHTTP2",
            dependencies: [
                "CNGHTTP2",
                "VDBMUtils",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: hotPath
        ),
        // The vocabulary of vector-database operations (collections, columns, keys, hits) as plain
        // Swift values, shared by the manager, the protobuf bridge and the service. No dependencies.
        .target(name: "VDBMDomain", swiftSettings: hotPath),
        // The only code that touches protobuf-c memory: pack/unpack to Swift value types.
        .target(
            name: "VDBMProtobuf",
            dependencies: ["CVDBMProtos", "CProtobufC", "VDBMDomain", "VDBMUtils"],
            swiftSettings: hotPath
        ),
        // The Milvus side: gRPC channel, connection pool, retry policy and budget, typed errors.
        .target(
            name: "MilvusClient",
            dependencies: ["VDBMUtils", "GRPCNGHTTP2", "VDBMDomain", "VDBMProtobuf", .product(name: "CoreMetrics", package: "swift-metrics")],
            swiftSettings: hotPath
        ),
        // The VectorDBManager actor: vector-database operations in Swift domain types, over a
        // MilvusAPI protocol (no NIO, no nghttp2).
        .target(
            name: "VDBMManager",
            dependencies: ["VDBMDomain", "MilvusClient", "VDBMProtobuf", "VDBMUtils", .product(name: "Logging", package: "swift-log"),
                           .product(name: "CoreMetrics", package: "swift-metrics")],
            swiftSettings: exportsGenerics
        ),
        // Our public gRPC services: grpc.health.v1.Health, reflection and vdbm.v1.VectorDB over a
        // VectorDBBackend protocol, and the call pipeline every service runs behind (API keys,
        // admission, error mapping). Knows neither the Milvus client nor the manager.
        .target(
            name: "VDBMService",
            dependencies: ["GRPCNGHTTP2", "VDBMProtobuf", "VDBMUtils", "VDBMDomain", .product(name: "CoreMetrics", package: "swift-metrics")],
            swiftSettings: hotPath
        ),
        // The Milvus pass-through: milvus.proto.milvus.MilvusService calls forwarded as bytes over
        // the Milvus client, its method table, and the coalescer that merges its searches.
        .target(
            name: "VDBMPassThrough",
            dependencies: ["GRPCNGHTTP2", "VDBMService", "VDBMManager", "MilvusClient", "VDBMProtobuf", "VDBMDomain", "VDBMUtils",
                           .product(name: "Logging", package: "swift-log"), .product(name: "CoreMetrics", package: "swift-metrics")],
            swiftSettings: hotPath
        ),
        // Configuration, lifecycle and the serve command, as a library so tests can reach it.
        .target(
            name: "VDBMDaemon",
            dependencies: [
                "CVDBMBuildInfo",
                "GRPCNGHTTP2",
                "VDBMService",
                "VDBMPassThrough",
                "VDBMManager",
                "MilvusClient",
                "VDBMProtobuf",
                "VDBMUtils",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ]
        ),
        // `vdbm bench`: a load generator for vdbm.v1 and Milvus searches on our own gRPC client.
        .target(
            name: "VDBMBench",
            dependencies: [
                "GRPCNGHTTP2",
                "VDBMProtobuf",
                "VDBMDomain",
                "VDBMUtils",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        .executableTarget(
            name: "vdbm",
            dependencies: [
                "VDBMDaemon",
                "VDBMBench",
                "MilvusClient",
                "VDBMUtils",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Fuzz targets (scripts/fuzz builds them with libFuzzer; a normal build replays files).
        .executableTarget(
            name: "vdbm-fuzz",
            dependencies: [
                "GRPCNGHTTP2",
                "VDBMProtobuf",
                "VDBMService",
                "VDBMManager",
                "VDBMDaemon",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/VDBMFuzz"
        ),

        .testTarget(name: "VDBMUtilsTests", dependencies: ["VDBMUtils"]),
        .testTarget(name: "VDBMDomainTests", dependencies: ["VDBMDomain"]),
        .testTarget(name: "VDBMBenchTests", dependencies: ["VDBMBench", "GRPCNGHTTP2", "VDBMProtobuf",
                                                           .product(name: "NIOPosix", package: "swift-nio"),
                                                           .product(name: "Histogram", package: "hdrhistogram-swift")]),
        .testTarget(
            name: "GRPCNGHTTP2Tests",
            dependencies: [
                "GRPCNGHTTP2",
                "VDBMUtils",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        .testTarget(name: "VDBMProtobufTests", dependencies: ["VDBMProtobuf", "CVDBMProtos", "VDBMUtils"]),
        .testTarget(
            name: "MilvusClientTests",
            dependencies: [
                "MilvusClient", "VDBMUtils", "GRPCNGHTTP2", "VDBMProtobuf", "VDBMDomain",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "VDBMManagerTests",
            dependencies: [
                "VDBMManager", "VDBMDomain", "MilvusClient", "VDBMProtobuf", "VDBMUtils", "GRPCNGHTTP2",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "VDBMServiceTests",
            dependencies: ["VDBMService", "VDBMPassThrough", "GRPCNGHTTP2", "VDBMDomain", "VDBMProtobuf", "MilvusClient", "VDBMUtils"]
        ),
        .testTarget(
            name: "VDBMPassThroughTests",
            dependencies: ["VDBMPassThrough", "VDBMService", "VDBMManager", "GRPCNGHTTP2", "VDBMDomain", "VDBMProtobuf", "MilvusClient",
                           "VDBMUtils", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "VDBMDaemonTests",
            dependencies: ["VDBMDaemon", "VDBMService", "MilvusClient", "VDBMUtils", "GRPCNGHTTP2",
                           .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
                           .product(name: "Prometheus", package: "swift-prometheus")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
