/// Every metric family vdbm exposes, with its help text: `/metrics` takes its `# HELP` lines from
/// here (swift-metrics carries no help text), and docs/operations.md lists the same names.
enum MetricCatalogue {
    static let help: [String: String] = [
        "vdbm_grpc_server_calls_total": "gRPC calls answered, by method and status code (HTTP_<status> when refused before gRPC; method unknown when not routed).",
        "vdbm_grpc_server_call_duration_seconds": "Time from a call's headers to its answer, by method and status code.",
        "vdbm_grpc_server_calls_in_flight": "Calls started and not yet answered, by method.",
        "vdbm_grpc_server_request_bytes_total": "Bytes of request messages, by method.",
        "vdbm_grpc_server_response_bytes_total": "Bytes of response messages, by method.",
        "vdbm_milvus_calls_total": "Calls to Milvus, by endpoint, method and outcome (ok, or the error's kind), retries included in one call.",
        "vdbm_milvus_call_duration_seconds": "Duration of calls to Milvus, retries and waits for a connection included, by endpoint and method.",
        "vdbm_milvus_retries_total": "Retried attempts of calls to Milvus, by endpoint and method.",
        "vdbm_milvus_retry_budget_refusals_total": "Calls to Milvus that failed without a retry because the retry budget was spent.",
        "vdbm_milvus_pool_connections": "Milvus connections in the pool, by state (ready, not_ready).",
        "vdbm_milvus_pool_waiting_calls": "Calls waiting for a ready Milvus connection.",
        "vdbm_milvus_endpoint_ejections_total": "Milvus endpoints taken out of rotation for failing their calls (outlier ejection).",
        "vdbm_search_batches_total": "Milvus searches sent by the search coalescer (one per lone search or merged batch).",
        "vdbm_search_batch_vectors": "Query vectors per Milvus search sent by the search coalescer.",
        "vdbm_write_batches_total": "Milvus inserts and upserts sent by the write coalescer (one per lone write or merged batch).",
        "vdbm_write_batch_rows": "Rows per Milvus insert or upsert sent by the write coalescer.",
        "vdbm_passthrough_search_fallbacks_total": "Merged pass-through searches whose answer was not cut, so each member searched alone, by reason (milvus_error, undecodable, unknown_field, malformed, iterator).",
        "vdbm_search_queue_wait_seconds": "Time a search waited in the coalescer before its Milvus search left (0 when it left at once).",
        "vdbm_auth_failures_total": "Calls refused by API-key authentication, by reason (missing, malformed, unknown_key, role_too_low).",
        "vdbm_trace_spans_exported_total": "Spans the OTLP collector accepted (tracing.otlp_endpoint).",
        "vdbm_trace_spans_dropped_total": "Spans not exported: the span buffer was full, or the collector failed or refused them.",
        "vdbm_log_lines_dropped_total": "Log lines dropped because the log output was slower than the traffic.",
        "vdbm_config_reloads_total": "Configuration reloads on SIGHUP, by outcome (applied, failed).",
        "process_cpu_seconds_total": "User and system CPU time spent by vdbm, in seconds.",
        "process_resident_memory_bytes": "Resident memory of vdbm, in bytes.",
        "process_open_fds": "Open file descriptors of vdbm.",
        "process_start_time_seconds": "Start time of vdbm since the Unix epoch, in seconds.",
        "vdbm_build_info": "Always 1; the labels say which vdbm this is.",
    ]
}
