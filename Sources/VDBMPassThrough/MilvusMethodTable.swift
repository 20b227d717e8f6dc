import MilvusClient
import VDBMService

/// Every `milvus.proto.milvus.MilvusService` method (`Protos/milvus/milvus_service.proto`), with
/// the role a vdbm API key needs to call it through the pass-through: reads (looking, searching,
/// the handshake calls) for `read`, row writes for `write`, and everything that changes schemas,
/// indexes, loading, users, roles or the cluster for `admin`. Reads are retried on any failure
/// before Milvus answered; the others only when Milvus surely did not receive them.
enum MilvusMethodTable {
    static let read: Set<String> = [
        "Connect", "GetVersion", "CheckHealth", "Dummy", "RegisterLink", "AllocTimestamp",
        "HasCollection", "DescribeCollection", "BatchDescribeCollection", "GetCollectionStatistics", "ShowCollections",
        "HasPartition", "GetPartitionStatistics", "ShowPartitions", "DescribePrewarmTask",
        "DescribeNamespace", "ListNamespaces", "HasNamespace", "GetNamespaceStats",
        "GetLoadingProgress", "GetLoadState", "DescribeAlias", "ListAliases",
        "DescribeIndex", "GetIndexStatistics", "GetIndexState", "GetIndexBuildProgress",
        "Search", "HybridSearch", "Query", "CalcDistance", "RunAnalyzer", "ComputePhraseMatchSlop",
        "GetFlushState", "GetFlushAllState", "GetPersistentSegmentInfo", "GetQuerySegmentInfo", "GetReplicas",
        "GetMetrics", "GetComponentStates", "GetCompactionState", "GetCompactionStateWithPlans",
        "GetImportState", "ListImportTasks", "ListIndexedSegment", "DescribeSegmentIndexData",
        "ListDatabases", "DescribeDatabase", "ListResourceGroups", "DescribeResourceGroup",
        "ListCredUsers", "SelectRole", "SelectUser", "SelectGrant", "ListPrivilegeGroups",
        "GetUserTags", "ListUsersWithTag", "ListRowPolicies", "ListFileResources",
        "GetReplicateConfiguration", "GetReplicateInfo",
        "ListSnapshots", "DescribeSnapshot", "GetExportSnapshotState", "GetRestoreSnapshotState", "ListRestoreSnapshotJobs",
        "GetRefreshExternalCollectionProgress", "ListRefreshExternalCollectionJobs",
    ]

    static let write: Set<String> = ["Insert", "Upsert", "Delete", "Flush", "Import"]

    static let admin: Set<String> = [
        "CreateCollection", "DropCollection", "LoadCollection", "ReleaseCollection", "AlterCollection", "AlterCollectionField",
        "AlterCollectionSchema", "AddCollectionField", "AddCollectionStructField", "AddCollectionFunction",
        "AlterCollectionFunction", "DropCollectionFunction", "TruncateCollection", "RenameCollection",
        "CreatePartition", "DropPartition", "LoadPartitions", "ReleasePartitions", "Prewarm",
        "CreateNamespace", "DropNamespace", "CreateAlias", "DropAlias", "AlterAlias",
        "CreateIndex", "AlterIndex", "DropIndex", "FlushAll", "LoadBalance", "ManualCompaction",
        "CreateDatabase", "DropDatabase", "AlterDatabase",
        "CreateCredential", "UpdateCredential", "DeleteCredential", "CreateRole", "AlterRole", "DropRole", "OperateUserRole",
        "OperatePrivilege", "OperatePrivilegeV2", "CreatePrivilegeGroup", "DropPrivilegeGroup", "OperatePrivilegeGroup",
        "BackupRBAC", "RestoreRBAC", "AddUserTags", "DeleteUserTags", "CreateRowPolicy", "DropRowPolicy",
        "CreateResourceGroup", "DropResourceGroup", "UpdateResourceGroups", "TransferNode", "TransferReplica",
        "AddFileResource", "RemoveFileResource", "ReplicateMessage", "UpdateReplicateConfiguration",
        "CreateReplicateStream", "DumpMessages",
        "CreateSnapshot", "DropSnapshot", "RestoreSnapshot", "RestoreExternalSnapshot", "ExportSnapshot",
        "PinSnapshotData", "UnpinSnapshotData", "BatchUpdateManifest", "RefreshExternalCollection",
    ]

    /// Streaming methods: not passed through (vdbm forwards unary calls).
    static let streaming: Set<String> = ["CreateReplicateStream", "DumpMessages"]

    /// The role `method` needs; a method this table does not know needs `admin`.
    static func role(of method: String) -> Role {
        if read.contains(method) { return .read }
        if write.contains(method) { return .write }
        return .admin
    }

    static func idempotency(of method: String) -> Idempotency {
        read.contains(method) ? .idempotent : .nonIdempotent
    }
}
