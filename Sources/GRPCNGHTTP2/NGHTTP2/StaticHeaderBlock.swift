import CNGHTTP2

/// A header list that never changes (`:status 200`, `grpc-status 0`, ...), laid out once as an
/// `nghttp2_nv` array in memory that lives as long as the process, so that the hot path hands it
/// to nghttp2 without building anything.
final class StaticHeaderBlock: NameValueList, @unchecked Sendable {  // immutable after init
    private let storage: UnsafeMutableBufferPointer<UInt8>
    private let nameValues: UnsafeMutableBufferPointer<nghttp2_nv>

    init(_ fields: [(String, String)]) {
        let bytes = fields.flatMap { Array($0.0.utf8) + Array($0.1.utf8) }
        storage = .allocate(capacity: max(bytes.count, 1))
        _ = storage.initialize(from: bytes)
        nameValues = .allocate(capacity: max(fields.count, 1))
        var offset = 0
        for (index, (name, value)) in fields.enumerated() {
            let base = storage.baseAddress! + offset
            nameValues[index] = nghttp2_nv(
                name: base, value: base + name.utf8.count, namelen: name.utf8.count, valuelen: value.utf8.count,
                flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue))
            offset += name.utf8.count + value.utf8.count
        }
        count = fields.count
    }

    let count: Int

    func withNameValueArray<Result>(_ body: (UnsafePointer<nghttp2_nv>?, Int) -> Result) -> Result {
        body(UnsafePointer(nameValues.baseAddress), count)
    }

    deinit {
        storage.deallocate()
        nameValues.deallocate()
    }
}

/// Anything that can lend nghttp2 an `nghttp2_nv` array for the length of one call.
protocol NameValueList {
    func withNameValueArray<Result>(_ body: (UnsafePointer<nghttp2_nv>?, Int) -> Result) -> Result
}

extension HeaderFields: NameValueList {}
