// swift-tools-version:6.0
// onemap — the county emergency-command "one map" service for 裕民县.
import PackageDescription

let strict: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

let package = Package(
    name: "onemap",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "onemap", targets: ["onemap"]),
        .library(name: "OneMapCore", targets: ["OneMapCore"]),
        .library(name: "OneMapStore", targets: ["OneMapStore"]),
        .library(name: "OneMapRouting", targets: ["OneMapRouting"]),
        .library(name: "OneMapStyle", targets: ["OneMapStyle"]),
        .library(name: "OneMapRender", targets: ["OneMapRender"]),
        .library(name: "OneMapServer", targets: ["OneMapServer"]),
        .library(name: "OneMapPrint", targets: ["OneMapPrint"]),
        .library(name: "OneMapImport", targets: ["OneMapImport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.34.1"),
        // Hummingbird's own transport; named for NIOHTTP1's parser error (TileFastLane).
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        // Only its bcrypt (OpenBSD's C implementation): web-map passwords.
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
    ],
    targets: [
        // C libraries, each through pkg-config with its Debian provider.
        .systemLibrary(
            name: "CSpatiaLite", path: "Sources/CSpatiaLite", pkgConfig: "spatialite",
            providers: [.apt(["libspatialite-dev", "libsqlite3-dev"])]),
        .systemLibrary(
            name: "CCairo", path: "Sources/CCairo", pkgConfig: "pangocairo",
            providers: [.apt(["libcairo2-dev", "libpango1.0-dev"])]),
        .systemLibrary(
            name: "CDeflate", path: "Sources/CDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),
        .systemLibrary(
            name: "CProj", path: "Sources/CProj", pkgConfig: "proj",
            providers: [.apt(["libproj-dev", "proj-data"])]),
        .systemLibrary(
            // No pkgConfig: its `-lgdal` would link GDAL into every process; shim.h loads it when an
            // import needs it (the headers come from libgdal-dev all the same).
            name: "CGDAL", path: "Sources/CGDAL", providers: [.apt(["libgdal-dev"])]),

        .target(name: "OneMapCore", swiftSettings: strict),
        .target(
            name: "OneMapStore",
            dependencies: ["OneMapCore", "CSpatiaLite", "CProj", .product(name: "HummingbirdBcrypt", package: "hummingbird-auth")],
            swiftSettings: strict),
        .target(name: "OneMapStyle", dependencies: ["OneMapCore"], swiftSettings: strict),
        // Foreign formats in (Shapefile, GeoPackage, FileGDB, KML, GPX, CSV, OpenStreetMap) through GDAL.
        .target(name: "OneMapImport", dependencies: ["OneMapCore", "OneMapStore", "CGDAL"], swiftSettings: strict),
        .target(name: "OneMapRender", dependencies: ["OneMapCore", "OneMapStore", "OneMapStyle", "CCairo", "CDeflate"], swiftSettings: strict),
        .target(name: "OneMapRouting", dependencies: ["OneMapCore", "OneMapStore"], swiftSettings: strict),
        .target(
            name: "OneMapPrint", dependencies: ["OneMapCore", "OneMapStore", "OneMapStyle", "OneMapRender", "OneMapRouting"],
            swiftSettings: strict),
        .target(
            name: "OneMapServer",
            dependencies: [
                "OneMapCore", "OneMapStore", "OneMapRouting", "OneMapStyle", "OneMapRender", "OneMapPrint",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "onemap",
            dependencies: [
                "OneMapCore", "OneMapStore", "OneMapRouting", "OneMapStyle", "OneMapRender", "OneMapServer", "OneMapPrint", "OneMapImport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict),

        .target(name: "OneMapTestSupport", dependencies: ["CCairo"], path: "Sources/OneMapTestSupport", swiftSettings: strict),
        .executableTarget(
            name: "onemap-bench", dependencies: ["OneMapCore", "OneMapStore", "OneMapImport", "OneMapRouting", "OneMapRender", "OneMapPrint", "CCairo", "CDeflate"],
            path: "Benchmarks/OneMapBench", swiftSettings: strict),

        .testTarget(name: "OneMapCoreTests", dependencies: ["OneMapTestSupport", "OneMapCore"], swiftSettings: strict),
        .testTarget(
            name: "OneMapStoreTests", dependencies: ["OneMapTestSupport", "OneMapStore", "OneMapCore", "CSpatiaLite"],
            swiftSettings: strict),
        .testTarget(
            name: "OneMapServerTests",
            dependencies: [
                "OneMapTestSupport", "onemap", "OneMapServer", "OneMapStore", "OneMapCore", "OneMapRouting", "OneMapRender",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "OneMapPrintTests", dependencies: ["OneMapTestSupport", "OneMapPrint", "OneMapRender", "OneMapRouting", "OneMapStore", "OneMapCore", "CCairo"],
            exclude: ["References"], swiftSettings: strict),
        .testTarget(
            name: "OneMapRenderTests", dependencies: ["OneMapTestSupport", "OneMapRender", "OneMapStyle", "OneMapStore", "OneMapCore", "CCairo"],
            exclude: ["References"], swiftSettings: strict),
        .testTarget(
            name: "OneMapUpgradeTests", dependencies: ["OneMapTestSupport", "OneMapStore", "OneMapRender", "OneMapRouting", "OneMapCore"],
            swiftSettings: strict),
        .testTarget(
            name: "OneMapImportTests", dependencies: ["OneMapTestSupport", "OneMapImport", "OneMapStore", "OneMapRouting", "OneMapCore"],
            swiftSettings: strict),
        .testTarget(
            name: "OneMapRoutingTests", dependencies: ["OneMapTestSupport", "OneMapRouting", "OneMapStore", "OneMapCore"],
            swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
