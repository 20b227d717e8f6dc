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
    public static func parse(_ text: String) throws(BenchError) -> QueryVectors {
        var values: [Float] = []
        var dimension = 0
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: " \t\r")
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let parts = trimmed.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" })
            var row: [Float] = []
            for part in parts {
                guard let value = Float(part), value.isFinite else {
                    throw .badVectors("line \(number + 1): '\(part)' is not a finite number")
                }
                row.append(value)
            }
            if dimension == 0 { dimension = row.count }
            guard row.count == dimension else {
                throw .badVectors("line \(number + 1) has \(row.count) components; the first vector has \(dimension)")
            }
            values += row
        }
        guard dimension > 0 else { throw .badVectors("no vectors in the file") }
        return QueryVectors(dimension: dimension, values: values)
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

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> Substring {
        var text = self
        while let first = text.first, set.contains(first) { text.removeFirst() }
        while let last = text.last, set.contains(last) { text.removeLast() }
        return text
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
