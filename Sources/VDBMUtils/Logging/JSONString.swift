/// Escapes text as a JSON string literal (RFC 8259), quotes included.
public enum JSONString {
    /// Appends `text` to `out` as a quoted, escaped JSON string.
    public static func append(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    /// Returns `text` as a quoted, escaped JSON string.
    public static func quote(_ text: String) -> String {
        var out = ""
        append(text, to: &out)
        return out
    }
}
