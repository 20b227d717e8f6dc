/// A minimal protobuf wire writer and reader, written independently of protobuf-c, so the service
/// tests build requests and read responses without going through the code under test.
struct ProtoWriter {
    private(set) var bytes: [UInt8] = []

    init() {}

    init(_ build: (inout ProtoWriter) -> Void) {
        build(&self)
    }

    mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    private mutating func tag(_ field: Int, _ wireType: UInt64) { varint(UInt64(field) << 3 | wireType) }

    mutating func uint(_ field: Int, _ value: UInt64) {
        tag(field, 0)
        varint(value)
    }

    mutating func int(_ field: Int, _ value: Int64) { uint(field, UInt64(bitPattern: value)) }

    mutating func bool(_ field: Int, _ value: Bool) { uint(field, value ? 1 : 0) }

    mutating func bytes(_ field: Int, _ value: [UInt8]) {
        tag(field, 2)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    mutating func string(_ field: Int, _ value: String) { bytes(field, Array(value.utf8)) }

    mutating func double(_ field: Int, _ value: Double) {
        tag(field, 1)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func message(_ field: Int, _ build: (inout ProtoWriter) -> Void) { bytes(field, ProtoWriter(build).bytes) }

    mutating func floats(_ field: Int, _ values: [Float]) {
        bytes(field, values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } })
    }

    mutating func int64s(_ field: Int, _ values: [Int64]) {
        var packed = ProtoWriter()
        for value in values { packed.varint(UInt64(bitPattern: value)) }
        bytes(field, packed.bytes)
    }
}

/// Reads the top-level fields of a message: varints and length-delimited values by number.
struct ProtoReader {
    enum Value {
        case varint(UInt64)
        case bytes([UInt8])
        case fixed32(UInt32)
    }

    private(set) var fields: [(number: Int, value: Value)] = []

    init(_ bytes: [UInt8]) {
        var index = 0
        func varint() -> UInt64 {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                result |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { break }
                shift += 7
            }
            return result
        }
        while index < bytes.count {
            let key = varint()
            switch key & 7 {
            case 0: fields.append((Int(key >> 3), .varint(varint())))
            case 2:
                let length = Int(varint())
                fields.append((Int(key >> 3), .bytes(Array(bytes[index..<index + length]))))
                index += length
            case 5:
                let raw = bytes[index..<index + 4].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * $1.offset) }
                fields.append((Int(key >> 3), .fixed32(raw)))
                index += 4
            default:
                return  // not used by vdbm.v1
            }
        }
    }

    func varint(_ number: Int) -> UInt64 {
        for field in fields where field.number == number { if case .varint(let value) = field.value { return value } }
        return 0
    }

    func all(_ number: Int) -> [[UInt8]] {
        fields.compactMap { field in
            guard field.number == number, case .bytes(let bytes) = field.value else { return nil }
            return bytes
        }
    }

    func string(_ number: Int) -> String { all(number).first.map { String(decoding: $0, as: UTF8.self) } ?? "" }
    func strings(_ number: Int) -> [String] { all(number).map { String(decoding: $0, as: UTF8.self) } }
    func message(_ number: Int) -> ProtoReader { ProtoReader(all(number).first ?? []) }
    func messages(_ number: Int) -> [ProtoReader] { all(number).map(ProtoReader.init) }

    func floats(_ number: Int) -> [Float] {
        all(number).flatMap { bytes in
            stride(from: 0, to: bytes.count, by: 4).map { offset in
                Float(bitPattern: (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) })
            }
        }
    }

    func int64s(_ number: Int) -> [Int64] {
        all(number).flatMap(Self.unpack)
    }

    /// Packed varints.
    private static func unpack(_ bytes: [UInt8]) -> [Int64] {
        var values: [Int64] = []
        var index = 0
        while index < bytes.count {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                result |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { break }
                shift += 7
            }
            values.append(Int64(bitPattern: result))
        }
        return values
    }
}
