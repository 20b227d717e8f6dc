import MilvusClient
import Testing
import VDBMDomain
@testable import VDBMManager

@Suite struct DynamicFieldsTests {
    @Test func extraColumnsBecomeOneJSONObjectPerRowMergedIntoAGivenMeta() throws {
        let column = try DynamicFields.metaColumn(
            extras: [("color", .strings(["red", "b\"lue"])), ("n", .int64s([1, -2])), ("ok", .bools([true, false])),
                     ("r", .doubles([0.5, 1e300])), ("doc", .json([#"{"k": [1]}"#, "null"]))],
            meta: [#"{"color": "old", "keep": 1}"#, "{}"], rows: 2)
        #expect(column.name == "$meta" && column.isDynamic && column.dataType == 23)
        #expect(column.values == .json([#"{"keep":1,"color":"red","n":1,"ok":true,"r":0.5,"doc":{"k":[1]}}"#,
                                        #"{"color":"b\"lue","n":-2,"ok":false,"r":1e+300,"doc":null}"#]))
    }

    @Test func valuesJSONCannotHoldAreRefusedWithColumnAndRow() {
        #expect(throws: VectorDBError.invalidArgument("column 'r' row 1: JSON has no NaN or infinity")) {
            try DynamicFields.metaColumn(extras: [("r", .doubles([1, .infinity]))], meta: nil, rows: 2)
        }
        #expect(throws: VectorDBError.invalidArgument("column 'doc' row 0 is not valid JSON: unexpected end of text at byte 5")) {
            try DynamicFields.metaColumn(extras: [("doc", .json(["{\"a\":"]))], meta: nil, rows: 1)
        }
        #expect(throws: VectorDBError.invalidArgument("column '$meta' row 0 is not a JSON object")) {
            try DynamicFields.metaColumn(extras: [], meta: ["[1]"], rows: 1)
        }
    }

    @Test func readsUnpackRequestedNamesIntoTheNarrowestColumn() {
        let meta = FieldValues.json([#"{"c":"red","n":3,"x":1.5,"b":true,"m":1}"#, #"{"c":"blue","n":4,"x":2,"b":false,"m":"one"}"#])
        let columns = DynamicFields.unpack(["id": .int64s([1, 2]), "$meta": meta], names: ["c", "n", "x", "b", "m", "gone"], keepMeta: false)
        #expect(columns["c"] == .strings(["red", "blue"]))
        #expect(columns["n"] == .int64s([3, 4]))
        #expect(columns["x"] == .doubles([1.5, 2]))
        #expect(columns["b"] == .bools([true, false]))
        #expect(columns["m"] == .json(["1", #""one""#]))
        #expect(columns["gone"] == .json(["null", "null"]))
        #expect(columns["$meta"] == nil)
        #expect(columns["id"] == .int64s([1, 2]))
        #expect(DynamicFields.unpack(["$meta": meta], names: [], keepMeta: true)["$meta"] == meta)
    }
}
