import Testing
@testable import VDBMManager

/// The one table of what a Milvus release can do.
@Suite struct MilvusFeatureTests {
    @Test func featuresFollowTheServersVersion() {
        #expect(MilvusFeature.available(version: "v2.3.5") == [.rangeSearch])
        #expect(MilvusFeature.available(version: "v2.4.0").contains(.groupingSearch))
        #expect(!MilvusFeature.available(version: "v2.4.17").contains(.fullTextSearch))
        #expect(MilvusFeature.available(version: "v2.6.15") == MilvusFeature.allCases)
        #expect(MilvusFeature.available(version: "v3.0.1") == MilvusFeature.allCases)
        // Not a version (Milvus Lite 3 says milvus_lite-3.2.2): Milvus decides for itself.
        #expect(MilvusFeature.available(version: "milvus_lite-3.2.2") == MilvusFeature.allCases)
    }

    @Test func messagesNameTheFeatureAndItsFirstRelease() {
        #expect(MilvusFeature.groupingSearch.title == "grouping search")
        #expect(MilvusFeature.fullTextSearch.since == MilvusVersion(major: 2, minor: 5))
    }
}
