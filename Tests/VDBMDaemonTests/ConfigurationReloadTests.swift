import Logging
import Synchronization
import Testing
import VDBMUtils
@testable import VDBMDaemon

@Suite struct ConfigurationReloadTests {
    private func configuration(_ overrides: [String]) throws -> VDBMConfiguration {
        try VDBMConfiguration.load(filePath: nil, environment: [:], overrides: overrides)
    }

    @Test func runTimeKeysAreAppliedAndTheOthersNeedARestart() throws {
        let old = try configuration(["logging.level=info"])
        let new = try configuration(["logging.level=debug", "limits.max_batch_rows=10", "server.port=6000",
                                     "milvus.endpoints=10.0.0.1:19530"])
        let (applied, needRestart) = ConfigurationReload.changes(from: old, to: new)
        #expect(applied == ["limits.max_batch_rows", "logging.level"])
        #expect(needRestart == ["milvus.endpoints", "server.port"])
        #expect(ConfigurationReload.changes(from: old, to: old) == ([], []))
    }

    @Test func aReloadAppliesTheNewSettingsAndKeepsStartOnlyKeysInForce() throws {
        let start = try configuration(["server.port=5000"])
        let next = try configuration(["server.port=6000", "logging.access_log=false"])
        let applied = Mutex<[VDBMConfiguration]>([])
        let reloader = ConfigurationReloader(load: { next }, apply: { config in applied.withLock { $0.append(config) } },
                                             initial: start, logger: Logger(label: "test"))
        let inForce = reloader.reload(start)
        #expect(applied.withLock { $0.count } == 1)
        #expect(inForce.settings["logging.access_log"] == "false")
        // The port did not change (it needs a restart): a second identical reload reports it again.
        #expect(inForce.settings["server.port"] == "5000")
    }

    @Test func aFileThatDoesNotLoadKeepsTheOldSettings() throws {
        let start = try configuration([])
        let applied = Mutex(0)
        struct Broken: Error {}
        let reloader = ConfigurationReloader(load: { throw Broken() }, apply: { _ in applied.withLock { $0 += 1 } },
                                             initial: start, logger: Logger(label: "test"))
        #expect(reloader.reload(start).settings == start.settings)
        #expect(applied.withLock { $0 } == 0)
    }

    @Test func aSharedLevelChangesLoggersThatAlreadyExist() {
        let setting = LogLevelSetting(.info)
        let writer = LogLineWriter(fileDescriptor: -1)
        defer { writer.close() }
        var logger = Logger(label: "t") { label in JSONLogHandler(label: label, level: setting, writer: writer) }
        #expect(logger.logLevel == .info)
        setting.level = .debug
        #expect(logger.logLevel == .debug)
        logger.logLevel = .error  // a logger's own level wins over the shared one
        setting.level = .trace
        #expect(logger.logLevel == .error)
    }
}
