import Prometheus

#if canImport(Glibc)
import Glibc
#endif

/// Renders `/metrics`: every metric the libraries made through swift-metrics (held by the
/// Prometheus registry), each family with a `# HELP` line from ``MetricCatalogue``, then the
/// process's own figures read from `/proc` at scrape time, and `vdbm_build_info`.
struct MetricsExposition: Sendable {
    let registry: PrometheusCollectorRegistry
    let version: String
    /// The git commit of the build ("unknown" when not stamped).
    let commit: String
    let startTime: Double
    /// Log lines dropped so far (the log writer's count).
    let droppedLogLines: @Sendable () -> Int

    init(registry: PrometheusCollectorRegistry, version: String, commit: String = VDBMVersion.commit,
         droppedLogLines: @escaping @Sendable () -> Int) {
        self.registry = registry
        self.version = version
        self.commit = commit
        self.droppedLogLines = droppedLogLines
        self.startTime = ProcessFigures.startTime() ?? 0
    }

    func render() -> [UInt8] {
        var families: [UInt8] = []
        registry.emit(into: &families)
        var out: [UInt8] = []
        out.reserveCapacity(families.count + 2048)
        // The registry writes `# TYPE name kind` before each family: put its help right before.
        var lineStart = 0
        while lineStart < families.count {
            var lineEnd = lineStart
            while lineEnd < families.count && families[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
            let line = families[lineStart..<lineEnd]
            if line.starts(with: Array("# TYPE ".utf8)) {
                let name = String(decoding: line.dropFirst(7).prefix { $0 != UInt8(ascii: " ") }, as: UTF8.self)
                if let help = MetricCatalogue.help[name] {
                    out.append(contentsOf: Array("# HELP \(name) \(help)\n".utf8))
                }
            }
            out.append(contentsOf: line)
            out.append(UInt8(ascii: "\n"))
            lineStart = lineEnd + 1
        }
        appendProcessFigures(to: &out)
        return out
    }

    private func appendProcessFigures(to out: inout [UInt8]) {
        var text = ""
        func family(_ name: String, _ kind: String, _ value: Double, labels: String = "") {
            text += "# HELP \(name) \(MetricCatalogue.help[name] ?? name)\n# TYPE \(name) \(kind)\n\(name)\(labels) \(value)\n"
        }
        let figures = ProcessFigures.read()
        if let cpu = figures.cpuSeconds { family("process_cpu_seconds_total", "counter", cpu) }
        if let resident = figures.residentBytes { family("process_resident_memory_bytes", "gauge", resident) }
        if let fds = figures.openFileDescriptors { family("process_open_fds", "gauge", fds) }
        family("process_start_time_seconds", "gauge", startTime)
        family("vdbm_log_lines_dropped_total", "counter", Double(droppedLogLines()))
        family("vdbm_build_info", "gauge", 1, labels: "{version=\"\(version)\",commit=\"\(commit)\"}")
        out.append(contentsOf: Array(text.utf8))
    }
}

/// The process's own figures, from `/proc/self` (Linux; `nil` where unavailable).
enum ProcessFigures {
    struct Figures {
        var cpuSeconds: Double?
        var residentBytes: Double?
        var openFileDescriptors: Double?
    }

    static func read() -> Figures {
        var figures = Figures()
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        if let stat = statFields() {
            // Fields after the command: utime is the 14th field of the line, stime the 15th.
            if stat.count > 12, let user = Double(stat[11]), let system = Double(stat[12]), ticks > 0 {
                figures.cpuSeconds = (user + system) / ticks
            }
            if stat.count > 21, let pages = Double(stat[21]) { figures.residentBytes = pages * pageSize }
        }
        figures.openFileDescriptors = countOpenFileDescriptors()
        return figures
    }

    /// Seconds since the Unix epoch at which the process started.
    static func startTime() -> Double? {
        guard let stat = statFields(), stat.count > 19, let startTicks = Double(stat[19]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        guard ticks > 0, let bootTime = bootTime() else { return nil }
        return bootTime + startTicks / ticks
    }

    /// The fields of `/proc/self/stat` after the command name (which may hold spaces).
    private static func statFields() -> [Substring]? {
        guard let text = try? String(contentsOfProcFile: "/proc/self/stat"),
              let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(after: close)...].split(separator: " ")
    }

    private static func bootTime() -> Double? {
        guard let text = try? String(contentsOfProcFile: "/proc/stat") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingPrefix(" "))
        }
        return nil
    }

    private static func countOpenFileDescriptors() -> Double? {
        guard let directory = opendir("/proc/self/fd") else { return nil }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let isDot = withUnsafeBytes(of: entry.pointee.d_name) { name in name[0] == UInt8(ascii: ".") }
            if !isDot { count += 1 }
        }
        return Double(max(0, count - 1))  // the directory stream's own descriptor
    }
}

extension String {
    /// Reads a small `/proc` file (their size is 0 to `stat`, so read until EOF).
    fileprivate init(contentsOfProcFile path: String) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw ProcReadError() }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress!, 4096) }
            if count <= 0 { break }
            bytes.append(contentsOf: chunk[..<count])
        }
        self = String(decoding: bytes, as: UTF8.self)
    }
}

private struct ProcReadError: Error {}
