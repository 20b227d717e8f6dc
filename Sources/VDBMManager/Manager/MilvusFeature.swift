/// What a Milvus server can do, by the first release that has it: one table for the checks that
/// refuse a request before it is sent and for what `GetServerInfo` reports.
public enum MilvusFeature: String, CaseIterable, Sendable {
    case rangeSearch = "range_search"
    case groupingSearch = "grouping_search"
    case hybridSearch = "hybrid_search"
    case sparseVectors = "sparse_vectors"
    case nullableFields = "nullable_fields"
    case defaultValues = "default_values"
    case fullTextSearch = "full_text_search"

    /// The first Milvus release with the feature.
    var since: MilvusVersion {
        switch self {
        case .rangeSearch: MilvusVersion(major: 2, minor: 3)
        case .groupingSearch, .hybridSearch, .sparseVectors, .nullableFields, .defaultValues: MilvusVersion(major: 2, minor: 4)
        case .fullTextSearch: MilvusVersion(major: 2, minor: 5)
        }
    }

    /// How a message names it ("grouping search needs Milvus 2.4 or newer").
    var title: String { String(rawValue.map { $0 == "_" ? " " : $0 }) }

    /// The features a server that says `version` (GetVersion's text) has; all of them when the
    /// text is not a version (`milvus_lite-3.2.2`), since Milvus then decides for itself.
    public static func available(version: String) -> [MilvusFeature] {
        guard let parsed = MilvusVersion(version) else { return allCases }
        return allCases.filter { $0.since <= parsed }
    }
}
