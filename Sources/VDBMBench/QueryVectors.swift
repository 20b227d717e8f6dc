import VDBMUtils

/// The query vectors a run cycles through: distinct ones, so no layer can answer a repeat from a
/// cache, generated from a seed or read from a file.
public struct QueryVectors: Sendable {
    public let dimension: Int
    /// `count * dimension` floats, vector after vector.
    public let values: [Float]

    public var count: Int { dimension > 0 ? values.count / dimension : 0 }

    public init(dimension: Int, values: [Float]) {
        self.dimension = dimension
        self.values = values
    }

    /// `count` vectors with components uniform in [0, 1), the same for the same seed.
    public static func random(count: Int, dimension: Int, seed: UInt64) -> QueryVectors {
        var generator = SplitMix64(seed: seed)
        let values = (0..<(count * dimension)).map { _ in Float(generator.next() >> 40) / Float(1 << 24) }
        return QueryVectors(dimension: dimension, values: values)
    }

    /// Vectors from text: one vector a line, components separated by commas or spaces; blank
    /// lines and lines starting with `#` are skipped.
    ///
    /// It scans UTF-8 bytes rather than `Character`s: a file of 10,000 vectors of 128 took seconds
    /// to split as `String`s, and the load generator shares the machine it measures.
    public static func parse(_ text: String) throws(BenchError) -> QueryVectors {
        let bytes = Array(text.utf8)
        var values: [Float] = []
        var dimension = 0
        var lineNumber = 0
        var lineStart = 0
        while lineStart <= bytes.count {
            lineNumber += 1
            var lineEnd = lineStart
            while lineEnd < bytes.count && bytes[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
            defer { lineStart = lineEnd + 1 }
            var position = lineStart
            var components = 0
            var first = true
            while position < lineEnd {
                let byte = bytes[position]
                if isSeparator(byte) || byte == UInt8(ascii: "\r") {
                    position += 1
                    continue
                }
                if first && byte == UInt8(ascii: "#") { break }
                first = false
                var tokenEnd = position
                while tokenEnd < lineEnd && !isSeparator(bytes[tokenEnd]) && bytes[tokenEnd] != UInt8(ascii: "\r") {
                    tokenEnd += 1
                }
                let token = String(decoding: bytes[position..<tokenEnd], as: UTF8.self)
                guard let value = Float(token), value.isFinite else {
                    throw .badVectors("line \(lineNumber): '\(token)' is not a finite number")
                }
                values.append(value)
                components += 1
                position = tokenEnd
            }
            if components == 0 { continue }
            if dimension == 0 { dimension = components }
            guard components == dimension else {
                throw .badVectors("line \(lineNumber) has \(components) components; the first vector has \(dimension)")
            }
        }
        guard dimension > 0 else { throw .badVectors("no vectors in the file") }
        return QueryVectors(dimension: dimension, values: values)
    }

    private static func isSeparator(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: ",") || byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
    }

    /// Vector `index` (wrapping around).
    public func vector(_ index: Int) -> ArraySlice<Float> {
        let start = (index % count) * dimension
        return values[start..<(start + dimension)]
    }
}

/// SplitMix64: a small, fast generator with a fixed sequence per seed (reproducible runs).
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension QueryVectors {
    /// Vectors from a text file (see `parse`).
    public static func read(path: String) throws(BenchError) -> QueryVectors {
        do {
            return try parse(try TextFile.read(path))
        } catch let error as TextFile.Failure {
            throw .badVectors(error.description)
        } catch let error as BenchError {
            throw error
        } catch {
            throw .badVectors("\(error)")
        }
    }
}
