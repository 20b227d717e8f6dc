import VDBMDomain

/// Milvus's wire form of a sparse vector (`SparseFloatArray.contents`, and a sparse query's
/// placeholder value): its components by ascending index, each a little-endian `uint32` index
/// followed by a little-endian `float32` value.
enum MilvusSparseRows {
    static let componentBytes = 8

    static func bytes(_ vector: SparseVector) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(vector.indices.count * componentBytes)
        for (index, value) in zip(vector.indices, vector.values) {
            withUnsafeBytes(of: index.littleEndian) { bytes.append(contentsOf: $0) }
            withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    /// The vector in `bytes`, or nil when they are not whole components.
    static func read(_ bytes: UnsafeRawBufferPointer) -> SparseVector? {
        guard bytes.count % componentBytes == 0 else { return nil }
        let count = bytes.count / componentBytes
        var indices: [UInt32] = []
        var values: [Float] = []
        indices.reserveCapacity(count)
        values.reserveCapacity(count)
        for component in 0..<count {
            let offset = component * componentBytes
            indices.append(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            values.append(Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))))
        }
        return SparseVector(indices: indices, values: values)
    }

    /// The dimension Milvus wants with sparse rows: the largest index plus one.
    static func dimension(_ rows: [SparseVector]) -> Int64 {
        rows.lazy.compactMap { $0.indices.max() }.max().map { Int64($0) + 1 } ?? 0
    }
}
