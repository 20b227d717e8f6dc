#if canImport(Glibc)
import Glibc
#endif

/// Reads a whole text file (the configuration, `vdbm bench`'s query vectors) without Foundation.
public enum TextFile {
    /// Why a file could not be read: the system's reason (`strerror`).
    public struct Failure: Error, Sendable, Hashable, CustomStringConvertible {
        public var path: String
        public var reason: String

        public var description: String { "cannot read \(path): \(reason)" }
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
}
