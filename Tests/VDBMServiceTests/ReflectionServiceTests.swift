import GRPCNGHTTP2
import Testing
import VDBMProtobuf
@testable import VDBMService

@Suite struct ReflectionServiceTests {
    private let services = ["grpc.health.v1.Health", "vdbm.v1.VectorDB"]

    private func ask(_ question: ReflectionRequest.Question, host: String = "") -> ReflectionResponse {
        let request = ReflectionRequest(host: host, question: question)
        // Through the wire form both ways, as a client would see it.
        let decoded = try! ReflectionRequest(serializedBytes: request.serializedBytes())
        let answer = ReflectionService.answer(decoded, services: services, index: .embedded)
        return try! ReflectionResponse(serializedBytes: answer.serializedBytes())
    }

    private func fileNames(_ response: ReflectionResponse) -> [String] {
        guard case .files(let files) = response.answer else { return [] }
        return files.compactMap { bytes in
            DescriptorIndex.embedded.files.first { $0.value == bytes }?.key
        }
    }

    @Test func theEmbeddedDescriptorsCoverVdbmHealthAndReflectionButNotMilvus() {
        let files = DescriptorIndex.embedded.files.keys.sorted()
        #expect(files == ["grpc/health/v1/health.proto", "grpc/reflection/v1/reflection.proto",
                          "grpc/reflection/v1alpha/reflection.proto", "vdbm/v1/data.proto", "vdbm/v1/vectordb.proto"])
        #expect(DescriptorIndex.embedded.symbols["vdbm.v1.VectorDB.Search"] == "vdbm/v1/vectordb.proto")
        #expect(DescriptorIndex.embedded.symbols["grpc.health.v1.HealthCheckResponse.ServingStatus"] == "grpc/health/v1/health.proto")
    }

    @Test func listServicesAnswersTheServedNamesAndEchoesTheRequest() {
        let response = ask(.listServices, host: "h")
        #expect(response.answer == .services(services))
        #expect(response.validHost == "h")
        #expect(response.originalRequest == ReflectionRequest(host: "h", question: .listServices))
    }

    @Test func aSymbolBringsItsFileAndItsImportsFileFirst() {
        #expect(fileNames(ask(.fileContainingSymbol("vdbm.v1.VectorDB"))) == ["vdbm/v1/vectordb.proto", "vdbm/v1/data.proto"])
        #expect(fileNames(ask(.fileContainingSymbol("vdbm.v1.SearchRequest"))).first == "vdbm/v1/vectordb.proto")
        #expect(fileNames(ask(.fileByFilename("grpc/health/v1/health.proto"))) == ["grpc/health/v1/health.proto"])
    }

    @Test func unknownNamesAreNotFoundErrorsInTheStream() {
        #expect(ask(.fileContainingSymbol("no.Such")).answer == .error(code: 5, message: "symbol no.Such not found"))
        #expect(ask(.fileByFilename("milvus/milvus.proto")).answer == .error(code: 5, message: "file milvus/milvus.proto not found"))
        #expect(ask(.fileContainingExtension(containingType: "vdbm.v1.SearchRequest", number: 100)).answer
            == .error(code: 5, message: "extension 100 of vdbm.v1.SearchRequest not found"))
    }

    @Test func extensionNumbersOfAKnownTypeAreAnEmptyList() {
        #expect(ask(.allExtensionNumbersOfType("vdbm.v1.SearchRequest")).answer == .extensionNumbers(baseType: "vdbm.v1.SearchRequest", numbers: []))
        #expect(ask(.allExtensionNumbersOfType("no.Such")).answer == .error(code: 5, message: "type no.Such not found"))
    }

    @Test func bothVersionsAreOfferedAndListThemselves() {
        let both = ReflectionService.both(listing: ["vdbm.v1.VectorDB", "milvus.proto.milvus.MilvusService"])
        #expect(both.map(\.serviceName) == [ReflectionService.v1, ReflectionService.v1alpha])
        // Only what a client can describe is listed: not the pass-through, whose descriptors vdbm lacks.
        #expect(both.allSatisfy { $0.services == ["vdbm.v1.VectorDB", ReflectionService.v1, ReflectionService.v1alpha] })
        #expect(both.allSatisfy { $0.methods.keys.map(\.method) == ["ServerReflectionInfo"] })
    }

    @Test func aMalformedRequestIsInvalidArgument() {
        #expect(throws: ProtobufDecodingError.self) { try ReflectionRequest(serializedBytes: [0x1A, 0x09]) }
    }
}
