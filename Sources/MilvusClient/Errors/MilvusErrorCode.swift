/// Milvus's error numbers, named once. `Status.code` carries the numeric codes of Milvus's
/// `pkg/util/merr` (2.3 and later fill it); `Status.error_code` the legacy `common.ErrorCode`
/// enum, which 2.3 still sets beside it and older servers set alone.
public enum MilvusErrorCode {
    // MARK: `Status.code` (merr)
    public static let serviceNotReady: Int32 = 1
    public static let serviceUnavailable: Int32 = 2
    public static let memoryLimitExceeded: Int32 = 3
    public static let requestLimitExceeded: Int32 = 4
    public static let diskLimitExceeded: Int32 = 7
    public static let rateLimit: Int32 = 8
    public static let quotaExceeded: Int32 = 9
    public static let timeTickLongDelay: Int32 = 11
    public static let resourceInsufficient: Int32 = 12
    public static let collectionNotFound: Int32 = 100
    public static let collectionNotLoaded: Int32 = 101
    public static let collectionNotFullyLoaded: Int32 = 103
    public static let collectionIllegalSchema: Int32 = 105
    public static let collectionOnRecovering: Int32 = 106
    public static let partitionNotFound: Int32 = 200
    public static let partitionNotLoaded: Int32 = 201
    public static let partitionNotFullyLoaded: Int32 = 202
    /// Replicas, channels, segments and nodes (400...906): Milvus's own parts are not in place yet.
    public static let clusterNotReady: ClosedRange<Int32> = 400...906
    public static let indexNotFound: Int32 = 700
    public static let indexNotSupported: Int32 = 701
    public static let indexDuplicate: Int32 = 702
    public static let databaseNotFound: Int32 = 800
    public static let parameterInvalid: Int32 = 1100
    public static let parameterMissing: Int32 = 1101
    public static let parameterTooLarge: Int32 = 1102
    public static let notAuthenticated: Int32 = 1400
    public static let privilegeNotPermitted: Int32 = 1401
    public static let aliasNotFound: Int32 = 1600
    public static let aliasAlreadyExists: Int32 = 1602
    public static let fieldNotFound: Int32 = 1700
    public static let fieldInvalidName: Int32 = 1701
    /// merr's "unexpected error": any error Milvus did not classify. Only its reason tells more.
    public static let unexpected: Int32 = 65_535

    // MARK: `Status.error_code` (legacy `common.ErrorCode`)
    public enum Legacy {
        public static let unexpectedError: Int32 = 1
        public static let permissionDenied: Int32 = 3
        public static let collectionNotExists: Int32 = 4
        public static let illegalArgument: Int32 = 5
        /// IllegalDimension ... IllegalSearchResult.
        public static let illegalInput: ClosedRange<Int32> = 7...13
        public static let illegalMetricType: Int32 = 23
        public static let indexNotExist: Int32 = 25
        public static let collectionNameNotFound: Int32 = 28
        public static let notShardLeader: Int32 = 45
        public static let noReplicaAvailable: Int32 = 46
        public static let rateLimit: Int32 = 49
        /// InsufficientMemoryToLoad, MemoryQuotaExhausted, DiskQuotaExhausted.
        public static let quotaExhausted: ClosedRange<Int32> = 52...54
        public static let timeTickLongDelay: Int32 = 55
        /// NotReadyServe, NotReadyCoordActivating.
        public static let notReady: ClosedRange<Int32> = 56...57
    }
}
