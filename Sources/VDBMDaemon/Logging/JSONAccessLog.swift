import GRPCNGHTTP2
import Synchronization
import VDBMUtils

/// Whether the access log writes lines; flipped by a configuration reload.
final class AccessLogSwitch: Sendable {
    private let on: Atomic<Bool>
    init(_ on: Bool) { self.on = Atomic(on) }
    var isOn: Bool {
        get { on.load(ordering: .relaxed) }
        set { on.store(newValue, ordering: .relaxed) }
    }
}

/// The access log: one JSON line per finished call, in the shape of every other log line
/// (`ts`, `level`, `msg: "rpc"`, `logger`, then the fields in sorted order), queued on the
/// process's ``LogLineWriter``.
///
/// It formats straight into bytes instead of going through `Logger`: metadata dictionaries,
/// their merging and sorting cost more than the call itself on a cheap method (see
/// `scripts/bench-health`).
struct JSONAccessLog: CallObserver {
    let label: String
    let writer: LogLineWriter
    /// On while `logging.access_log` is true and the level shows `info` (a reload may flip it).
    let enabled: AccessLogSwitch

    func callFinished(_ record: CallRecord) {
        guard enabled.isOn else { return }
        writer.submit { out in Self.append(record, label: label, to: &out) }
    }

    /// The line for `record` at the current time.
    static func line(_ record: CallRecord, label: String) -> [UInt8] {
        var out: [UInt8] = []
        append(record, label: label, to: &out)
        return out
    }

    /// Appends the line for `record` at the current time to `out`.
    static func append(_ record: CallRecord, label: String, to out: inout [UInt8]) {
        JSONString.appendRaw(#"{"ts":""#, to: &out)
        LogTimestamp.appendNow(to: &out)
        JSONString.appendRaw(#"","level":"info","msg":"rpc","logger":"#, to: &out)
        JSONString.append(label, to: &out)
        JSONString.appendRaw(#","duration_ms":"#, to: &out)
        appendMilliseconds(record.duration, to: &out)
        if !record.message.isEmpty {
            JSONString.appendRaw(#","error":"#, to: &out)
            JSONString.append(record.message, to: &out)
        }
        if let httpStatus = record.httpStatus {
            JSONString.appendRaw(#","http_status":"#, to: &out)
            LogTimestamp.appendDigits(httpStatus, width: 1, to: &out)
        }
        JSONString.appendRaw(#","method":"#, to: &out)
        JSONString.append(record.method, to: &out)
        JSONString.appendRaw(#","peer":"#, to: &out)
        JSONString.append(record.peer, to: &out)
        JSONString.appendRaw(#","request_id":"#, to: &out)
        JSONString.append(record.requestID, to: &out)
        if let status = record.status {
            JSONString.appendRaw(#","status":"#, to: &out)
            JSONString.append(status.name, to: &out)
        }
        JSONString.appendRaw("}\n", to: &out)
    }

    /// Milliseconds with three decimals (microsecond resolution), always with a decimal point so
    /// that JSON readers see a float.
    static func appendMilliseconds(_ duration: Duration, to out: inout [UInt8]) {
        let (seconds, attoseconds) = duration.components
        let microseconds = max(0, Int(seconds) * 1_000_000 + Int(attoseconds / 1_000_000_000_000))
        LogTimestamp.appendDigits(microseconds / 1000, width: 1, to: &out)
        out.append(UInt8(ascii: "."))
        LogTimestamp.appendDigits(microseconds % 1000, width: 3, to: &out)
    }
}
