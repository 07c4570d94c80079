// swift-tools-version:6.0
// FastBroker: a WAMP v2 broker over libuv. Targets, bottom up (each imports only those above it;
// README "Architecture" walks one PUBLISH through them):
//   CUV / COpenSSL / CJemalloc / CNats   C modules (libuv, the one OpenSSL shim, the allocator,
//                                        the NATS client)
//   WireCodec                   dependency-free codec leaf: MessagePack/CBOR headers and skip,
//                               shortest double text, strict base64, UTF-8 and SWAR helpers, SHA-1
//   WampURI                     the WAMP URI rule and the match policies (config and sessions)
//   BrokerSync                  PThreadLock, the one lock type (TSan-visible, unlike Mutex on Linux)
//   BrokerLoop                  thin Swift wrapper over libuv (loop, TCP, timers, async, signals,
//                               MPSC queue, LoopBound)
//   BrokerWire                  ring buffers, RawSocket/WebSocket framing, HTTP upgrade
//   BrokerSerialization         WAMP message views over JSON/MessagePack/CBOR bytes, writers,
//                               transcoder, the cold-path JSON tree reader
//   BrokerSecurity              crypto primitives, WAMP-CRA/ticket/cryptosign, user database, TLS
//   BrokerConfig                JSON configuration with path-naming errors
//   FilterVM                    filter expressions → bytecode → VM (imports only WireCodec)
//   BrokerCluster               node-to-node fan-out over NATS (CNats): interest, envelope, KV leases
//   FastBroker (Sources/FastBroker/Core)
//                               Connection (+Input/+HTTP/+Output/+TLS over ConnectionTransport:
//                               TCP or InMemoryTransport), Session (+Handshake/+PubSub/+Groups),
//                               Router — the one fan-out seam: local subscribers, consumer groups,
//                               other loops (typed inbox), other nodes (ClusterBridge) — realms,
//                               loop contexts, server
//   fastbroker                  the executable (FastBrokerCLI)
// Tests mirror Sources: one test target per source target, shared helpers in TestSupport, the
// serialization self-checks (shared with the json/msgpack/cbor fuzz entries) in SerializationSelfCheck.
import PackageDescription

/// Release builds of the data-path targets skip Swift's dynamic exclusivity checks: callgrind
/// showed them at ~40% of the broker's instructions per delivered event (swift_beginAccess on
/// every class-property access). Exclusivity there is guaranteed by design — every mutable field
/// is owned by one loop thread — and debug builds (all tests) keep the checks on.
let dataPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
/// The codec modules' release builds also offer their code for cross-module optimisation, so the
/// per-message accessors are inlined into the FastBroker core instead of called across the module
/// boundary. Not BrokerLoop: Swift 6.3.1 crashes (CopyPropagation ownership error) specialising
/// its MPSCQueue in FastBroker. Debug builds and the tests are unchanged.
let codecPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked", "-cross-module-optimization"], .when(configuration: .release))]

let package = Package(
    name: "FastBroker",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "fastbroker", targets: ["FastBrokerCLI"]),
        .executable(name: "filter-eval", targets: ["FilterEvalTool"]),
        .executable(name: "fastbench", targets: ["FastBench"]),
        .executable(name: "index-bench", targets: ["IndexBench"]),
        .library(name: "FastBroker", targets: ["FastBroker"]),
        .library(name: "FilterVM", targets: ["FilterVM"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        .systemLibrary(name: "CUV", path: "Sources/CUV", pkgConfig: "libuv"),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl"),
        .systemLibrary(name: "CJemalloc", path: "Sources/CJemalloc"),
        .systemLibrary(name: "CNats", path: "Sources/CNats", pkgConfig: "libnats"),

        .target(name: "WireCodec", path: "Sources/WireCodec", swiftSettings: codecPath),
        .target(name: "WampURI", path: "Sources/WampURI", swiftSettings: dataPath),
        .target(name: "BrokerSync", path: "Sources/FastBroker/Sync"),
        .target(name: "BrokerLoop", dependencies: ["CUV", "BrokerSync"], path: "Sources/FastBroker/Loop", swiftSettings: dataPath),
        .target(name: "BrokerSecurity", dependencies: ["COpenSSL", "WireCodec", "BrokerSerialization", "BrokerSync"], path: "Sources/FastBroker/Security"),
        .target(name: "BrokerWire", dependencies: ["WireCodec"], path: "Sources/FastBroker/Wire", swiftSettings: codecPath),
        .target(name: "BrokerSerialization", dependencies: ["WireCodec"], path: "Sources/FastBroker/Serialization", swiftSettings: codecPath),
        .target(name: "BrokerConfig", dependencies: ["BrokerSerialization", "WampURI"], path: "Sources/FastBroker/Config"),
        .target(name: "FilterVM", dependencies: ["WireCodec"], path: "Sources/FilterVM", swiftSettings: dataPath),
        .target(name: "BrokerCluster", dependencies: ["CNats", "BrokerConfig", "BrokerSync"], path: "Sources/FastBroker/Cluster"),
        .target(
            name: "FastBroker",
            dependencies: [
                "BrokerLoop", "BrokerSync", "BrokerSecurity", "BrokerWire", "BrokerSerialization", "BrokerConfig", "WampURI", "FilterVM", "CJemalloc",
                "BrokerCluster",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/FastBroker/Core",
            swiftSettings: dataPath),
        .executableTarget(
            name: "FastBrokerCLI",
            dependencies: ["FastBroker", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "FilterEvalTool", dependencies: ["FilterVM"]),
        .executableTarget(name: "FilterBench", dependencies: ["FilterVM"], path: "bench/FilterBench"),
        .executableTarget(name: "IndexBench", dependencies: ["FastBroker", "BrokerConfig"], path: "bench/IndexBench"),
        .executableTarget(
            name: "FastBench",
            dependencies: ["BrokerLoop", "BrokerSecurity", "BrokerWire", "BrokerSerialization", "WireCodec", .product(name: "Histogram", package: "hdrhistogram-swift")],
            path: "bench/FastBench"),

        // Helpers shared by the test targets (seeded generator).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        // The serialization self-checks: test-only code shared by SerializationTests and the
        // json/msgpack/cbor fuzz entries (fuzz/run.sh compiles this folder into each).
        .target(name: "SerializationSelfCheck", dependencies: ["BrokerSerialization", "WireCodec"], path: "Tests/SerializationSelfCheck"),
        .testTarget(name: "WireCodecTests", dependencies: ["WireCodec"]),
        .testTarget(name: "WampURITests", dependencies: ["WampURI"]),
        .testTarget(name: "LoopTests", dependencies: ["BrokerLoop", "BrokerSync"]),
        .testTarget(name: "SecurityTests", dependencies: ["BrokerSecurity", "WireCodec", "TestSupport"]),
        .testTarget(name: "WireTests", dependencies: ["BrokerWire", "TestSupport"]),
        .testTarget(name: "SerializationTests", dependencies: ["BrokerSerialization", "SerializationSelfCheck", "TestSupport"], exclude: ["Fixtures", "generate_differential.py"]),
        .testTarget(name: "ConfigTests", dependencies: ["BrokerConfig", "BrokerSerialization", "TestSupport"]),
        .testTarget(name: "FilterVMTests", dependencies: ["FilterVM", "TestSupport"]),
        .testTarget(name: "FastBrokerTests", dependencies: ["FastBroker", "TestSupport"]),
        .testTarget(name: "FastBenchTests", dependencies: ["FastBench"], path: "Tests/bench/FastBenchTests"),
        .testTarget(name: "ClusterTests", dependencies: ["BrokerCluster", "BrokerConfig", "BrokerSync"]),
    ]
)
