#if canImport(Glibc)
import Glibc
#endif

/// Reads (the configuration, `vdbm bench`'s query vectors) and writes (`vdbm bench --html`) a
/// whole text file without Foundation.
public enum TextFile {
    /// Why a file could not be read or written: the system's reason (`strerror`).
    public struct Failure: Error, Sendable, Hashable, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var writing = false

        public var description: String { "cannot \(writing ? "write" : "read") \(path): \(reason)" }
    }

    /// The file's bytes as text (invalid UTF-8 is repaired with U+FFFD).
    public static func read(_ path: String) throws(Failure) -> String {
        guard let file = fopen(path, "rb") else {
            throw Failure(path: path, reason: String(cString: strerror(errno)))
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count <= 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        if ferror(file) != 0 { throw Failure(path: path, reason: "read error") }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Replaces the file's contents with `text` (the file is created when missing).
    public static func write(_ text: String, to path: String) throws(Failure) {
        guard let file = fopen(path, "wb") else {
            throw Failure(path: path, reason: String(cString: strerror(errno)), writing: true)
        }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        let closed = fclose(file)
        guard written == bytes.count, closed == 0 else { throw Failure(path: path, reason: "write error", writing: true) }
    }
}
