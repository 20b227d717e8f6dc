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

/// A static block and one more field whose value changes per call (a response's
/// `x-request-id`): the array nghttp2 reads is assembled on the stack, with no per-call copy of
/// the static fields. nghttp2 copies what it needs during the submit call.
struct StaticHeaderBlockAndField: NameValueList {
    let block: StaticHeaderBlock
    let name: StaticString
    let value: String

    func withNameValueArray<Result>(_ body: (UnsafePointer<nghttp2_nv>?, Int) -> Result) -> Result {
        var value = value
        return value.withUTF8 { valueBytes in
            block.withNameValueArray { fixed, count in
                withUnsafeTemporaryAllocation(of: nghttp2_nv.self, capacity: count + 1) { all in
                    for index in 0..<count { all[index] = fixed![index] }
                    all[count] = nghttp2_nv(
                        name: UnsafeMutablePointer(mutating: name.utf8Start), value: UnsafeMutablePointer(mutating: valueBytes.baseAddress),
                        namelen: name.utf8CodeUnitCount, valuelen: valueBytes.count,
                        // A value that differs per call would only churn HPACK's dynamic table.
                        flags: HeaderFields.flags(indexed: false))
                    return body(UnsafePointer(all.baseAddress), count + 1)
                }
            }
        }
    }
}
