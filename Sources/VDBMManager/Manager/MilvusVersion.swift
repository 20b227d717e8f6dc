/// A Milvus server version, from the text `GetVersion` answers ("v2.3.5", "v2.3.5-lite", "2.4.0").
struct MilvusVersion: Comparable, Sendable {
    var major: Int
    var minor: Int

    init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    /// `nil` when the text does not start with `major.minor`.
    init?(_ text: String) {
        let numbers = text.drop { $0 == "v" || $0 == "V" }.split(separator: ".", maxSplits: 2)
        guard numbers.count >= 2, let major = Int(numbers[0]),
              let minor = Int(numbers[1].prefix { $0.isNumber }) else { return nil }
        self.init(major: major, minor: minor)
    }

    static func < (lhs: MilvusVersion, rhs: MilvusVersion) -> Bool {
        (lhs.major, lhs.minor) < (rhs.major, rhs.minor)
    }
}
