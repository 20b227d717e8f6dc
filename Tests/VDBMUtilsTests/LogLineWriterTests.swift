import Synchronization
import Testing
@testable import VDBMUtils

#if canImport(Glibc)
import Glibc
#endif

/// A pipe whose read end is drained into memory by a thread of its own until EOF.
private final class PipeCapture: Sendable {
    let writeEnd: Int32
    private let readEnd: Int32
    private let captured = Mutex<[UInt8]>([])
    private let done = Mutex(false)

    init() {
        var ends: [Int32] = [0, 0]
        precondition(pipe(&ends) == 0)
        readEnd = ends[0]
        writeEnd = ends[1]
    }

    /// Starts reading; returns at once.
    func startReading() {
        let box = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        pthread_create(&thread, nil, { argument in
            let capture = Unmanaged<PipeCapture>.fromOpaque(argument!).takeRetainedValue()
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = chunk.withUnsafeMutableBytes { read(capture.readEnd, $0.baseAddress!, 65536) }
                if count <= 0 { break }
                capture.captured.withLock { $0.append(contentsOf: chunk[..<count]) }
            }
            capture.done.withLock { $0 = true }
            return nil
        }, box)
        pthread_detach(thread)
    }

    /// Whether `text` has arrived, waiting up to `seconds` for it.
    func sees(_ text: String, within seconds: Int) async throws -> Bool {
        let until = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < until {
            if String(decoding: captured.withLock { $0 }, as: UTF8.self).contains(text) { return true }
            try await Task.sleep(for: .milliseconds(5))
        }
        return false
    }

    /// Closes the write end and waits for EOF; returns the lines read.
    func finish() async throws -> [String] {
        Glibc.close(writeEnd)
        while !done.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
        Glibc.close(readEnd)
        let bytes = captured.withLock { $0 }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .dropLast().map(String.init)
    }
}

@Suite struct LogLineWriterTests {
    @Test func everyLineAcceptedBeforeCloseIsWrittenInOrder() async throws {
        let capture = PipeCapture()
        capture.startReading()
        let writer = LogLineWriter(fileDescriptor: capture.writeEnd)
        for index in 0..<5000 { writer.submit(Array("line \(index)\n".utf8)) }
        writer.close()
        let lines = try await capture.finish()
        let inOrder = lines == (0..<5000).map { "line \($0)" }
        #expect(inOrder, "\(lines.count) lines")
        #expect(writer.droppedLines == 0)
    }

    @Test func linesFromManyThreadsArriveWholeAndNeverInterleaved() async throws {
        let capture = PipeCapture()
        capture.startReading()
        let writer = LogLineWriter(fileDescriptor: capture.writeEnd, capacity: 64 << 20)
        let body = String(repeating: "x", count: 300)
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for index in 0..<2000 { writer.submit(Array("\(task) \(index) \(body)\n".utf8)) }
                }
            }
        }
        writer.close()
        let lines = try await capture.finish()
        #expect(writer.droppedLines == 0)
        #expect(lines.count == 16000)
        // Each producer's lines are whole and keep their order (compared as a flag: a failure
        // would otherwise print 2,000 long lines).
        for task in 0..<8 {
            let own = lines.filter { $0.hasPrefix("\(task) ") }
            let inOrderAndWhole = own == (0..<2000).map { "\(task) \($0) \(body)" }
            #expect(inOrderAndWhole, "lines of producer \(task)")
        }
    }

    @Test func aStuckSinkDropsAndCountsLinesInsteadOfBlocking() async throws {
        // Nobody reads the pipe yet: the writer thread blocks once the pipe's buffer is full, the
        // 1 KiB queue fills, and later lines are dropped at once (this loop must not block).
        let capture = PipeCapture()
        let writer = LogLineWriter(fileDescriptor: capture.writeEnd, capacity: 1024)
        let line = Array((String(repeating: "y", count: 99) + "\n").utf8)
        for _ in 0..<3000 { writer.submit(line) }
        let dropped = writer.droppedLines
        #expect(dropped > 0)

        capture.startReading()
        writer.close()
        let lines = try await capture.finish()
        let written = lines.filter { $0.hasPrefix("yyy") }.count
        #expect(written + dropped == 3000)
        // The writer says so in lines of its own (one per batch that saw drops), adding up to all.
        let reported = lines.filter { $0.contains("lines dropped") }.compactMap { line in
            line.split(separator: ",").first { $0.hasPrefix(#""dropped_lines":"#) }
                .flatMap { Int($0.dropFirst(#""dropped_lines":"#.count).prefix { $0.isNumber }) }
        }
        #expect(!reported.isEmpty)
        #expect(reported.reduce(0, +) == dropped)
    }

    @Test func aLineAfterAQuietSpellWakesTheSleepingWriter() async throws {
        // The writer sleeps without a timeout once a round finds nothing; the next line must wake
        // it, or it would sit in its lane until close.
        let capture = PipeCapture()
        capture.startReading()
        let writer = LogLineWriter(fileDescriptor: capture.writeEnd)
        writer.submit(Array("first\n".utf8))
        #expect(try await capture.sees("first", within: 5))
        for round in 0..<3 {
            try await Task.sleep(for: .milliseconds(200))  // several empty rounds: asleep by now
            writer.submit(Array("after quiet \(round)\n".utf8))
            #expect(try await capture.sees("after quiet \(round)", within: 5))
        }
        writer.close()
        _ = try await capture.finish()
    }

    @Test func linesAfterCloseAreWrittenDirectly() async throws {
        let capture = PipeCapture()
        capture.startReading()
        let writer = LogLineWriter(fileDescriptor: capture.writeEnd)
        writer.submit(Array("before\n".utf8))
        writer.close()
        writer.submit(Array("after\n".utf8))
        #expect(try await capture.finish() == ["before", "after"])
    }
}
