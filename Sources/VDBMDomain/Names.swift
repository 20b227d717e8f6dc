/// Milvus's rule for collection, field, partition and index names: a letter or `_` first, then
/// letters, digits and `_`, at most 255 bytes. Checked before a call leaves vdbm, so a bad name
/// is a clear INVALID_ARGUMENT instead of whatever Milvus answers.
public enum Names {
    /// Why `name` is not a valid `kind` name, or nil when it is.
    public static func problem(with name: String, kind: String) -> String? {
        let bytes = Array(name.utf8)
        guard let first = bytes.first else { return "\(kind) name is empty" }
        if let problem = nulProblem(in: name, what: "\(kind) name") { return problem }
        guard bytes.count <= 255, isLetter(first) || first == UInt8(ascii: "_"),
              bytes.allSatisfy({ isLetter($0) || $0 == UInt8(ascii: "_") || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) })
        else {
            return "\(kind) name '\(name.prefix(64))' must start with a letter or _ and hold only letters, digits and _ (at most 255)"
        }
        return nil
    }

    /// Why `text`, used as `what` (a filter, a field name), is refused: it holds U+0000, which
    /// Milvus's C++ core would read as the end of the text. `nil` when it has none.
    public static func nulProblem(in text: String, what: String) -> String? {
        text.utf8.contains(0) ? "\(what) contains a NUL character (U+0000)" : nil
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
    }
}
