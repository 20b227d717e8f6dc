import VDBMDomain

/// The `vdbm.v1` enums' wire numbers and the domain values they stand for, both ways.
extension VDBMv1 {
    /// What a wire enum number means: not set (0), a known value, or a number vdbm does not know.
    public enum EnumValue<Value: Sendable & Hashable>: Sendable, Hashable {
        case unspecified
        case value(Value)
        case unknown(Int32)
    }

    public static func metric(_ number: Int32) -> EnumValue<MetricType> {
        switch number {
        case 0: .unspecified
        case 1: .value(.l2)
        case 2: .value(.innerProduct)
        case 3: .value(.cosine)
        case 4: .value(.bm25)
        default: .unknown(number)
        }
    }

    public static func consistency(_ number: Int32) -> EnumValue<ConsistencyLevel> {
        switch number {
        case 0: .unspecified
        case 1...4: .value(ConsistencyLevel(rawValue: number - 1)!)
        default: .unknown(number)
        }
    }

    static func number(_ level: ConsistencyLevel) -> Int32 { level.rawValue + 1 }

    /// `ScalarField.Type` numbers; a string needs its max length, given separately.
    public static func scalarType(_ number: Int32, maxLength: Int) -> EnumValue<ScalarType> {
        switch number {
        case 0: .unspecified
        case 1: .value(.bool)
        case 2: .value(.int32)
        case 3: .value(.int64)
        case 4: .value(.float)
        case 5: .value(.double)
        case 6: .value(.string(maxLength: maxLength))
        case 7: .value(.json)
        default: .unknown(number)
        }
    }

    static func number(_ type: FieldType) -> Int32 {
        switch type {
        case .bool: 1
        case .int8: 2
        case .int16: 3
        case .int32: 4
        case .int64: 5
        case .float: 6
        case .double: 7
        case .varchar: 8
        case .json: 9
        case .floatVector: 10
        case .sparseFloatVector: 11
        case .other: 0
        }
    }

    static func number(_ state: LoadState) -> Int32 {
        switch state {
        case .notExist: 0
        case .notLoaded: 1
        case .loading: 2
        case .loaded: 3
        }
    }
}
