import GRPCNGHTTP2
import Testing
import VDBMUtils
@testable import VDBMDaemon

@Suite struct JSONAccessLogTests {
    private func line(_ record: CallRecord) -> String {
        String(decoding: JSONAccessLog.line(record, label: "vdbm"), as: UTF8.self)
    }

    @Test func aCallBecomesOneJSONLineWithSortedFields() {
        let text = line(CallRecord(method: "/vdbm.v1.VectorDB/Search", status: .ok,
                                        duration: .microseconds(1_234_567), peer: "127.0.0.1:5", requestID: "r-1"))
        #expect(text.hasPrefix(#"{"ts":""#))
        #expect(text.hasSuffix(#"Z","level":"info","msg":"rpc","logger":"vdbm","duration_ms":1234.567,"method":"/vdbm.v1.VectorDB/Search","peer":"127.0.0.1:5","request_id":"r-1","status":"OK"}"# + "\n"))
    }

    @Test func durationKeepsThreeDecimalsSoItReadsAsAFloat() {
        #expect(line(CallRecord(method: "/m", status: .ok, duration: .microseconds(7), peer: "p", requestID: "r"))
            .contains(#""duration_ms":0.007,"#))
        #expect(line(CallRecord(method: "/m", status: .ok, duration: .seconds(2), peer: "p", requestID: "r"))
            .contains(#""duration_ms":2000.000,"#))
    }

    @Test func errorsAndHTTPRefusalsCarryTheirDetailEscaped() {
        let failed = line(CallRecord(method: "/m", status: .invalidArgument, message: "bad \"x\"\n",
                                          duration: .zero, peer: "p", requestID: "r"))
        #expect(failed.contains(#""error":"bad \"x\"\n","#))
        #expect(failed.contains(#""status":"INVALID_ARGUMENT"}"#))
        let refused = line(CallRecord(method: "/m", status: nil, httpStatus: 405, duration: .zero, peer: "p",
                                           requestID: "r"))
        #expect(refused.contains(#""http_status":405,"method":"/m""#))
        #expect(!refused.contains("status\":\""))
    }

    @Test func timestampIsRFC3339UTCWithMilliseconds() {
        var bytes: [UInt8] = []
        LogTimestamp.append(seconds: 1_795_000_000, milliseconds: 7, to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == "2026-11-18T11:06:40.007Z")
    }
}
