/// Every configuration key vdbm knows, with its default and a one-line description. This table is
/// the single source for parsing, environment names and the documented defaults in
/// `Config/vdbm.yaml` (a test checks that the file lists exactly these keys and defaults).
public struct ConfigurationKey: Sendable, Hashable {
    public let name: String
    public let defaultValue: String
    public let summary: String

    /// The environment variable that overrides this key: `VDBM_` + the key in upper case with
    /// dots as underscores, e.g. `server.port` -> `VDBM_SERVER_PORT`.
    public var environmentName: String {
        "VDBM_" + String(name.uppercased().map { $0 == "." ? "_" : $0 })
    }

    public static let all: [ConfigurationKey] = [
        .init(name: "server.host", defaultValue: "127.0.0.1",
              summary: "TCP address to listen on; a non-loopback address without auth logs a warning"),
        .init(name: "server.port", defaultValue: "50051",
              summary: "TCP port; 0 picks a free one"),
        .init(name: "server.unix_socket", defaultValue: "",
              summary: "Unix domain socket to listen on as well; empty disables it"),
        .init(name: "server.event_loop_threads", defaultValue: "0",
              summary: "event loop threads; 0 = one per core"),
        .init(name: "server.max_message_bytes", defaultValue: "67108864",
              summary: "largest request message"),
        .init(name: "server.max_buffered_request_bytes", defaultValue: "536870912",
              summary: "request bytes all connections may hold at once"),
        .init(name: "server.max_concurrent_streams", defaultValue: "256",
              summary: "HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS`"),
        .init(name: "server.initial_window_bytes", defaultValue: "1048576",
              summary: "HTTP/2 `SETTINGS_INITIAL_WINDOW_SIZE` (per stream)"),
        .init(name: "server.connection_window_bytes", defaultValue: "16777216",
              summary: "HTTP/2 connection-level receive window"),
        .init(name: "server.max_header_list_bytes", defaultValue: "16384",
              summary: "HTTP/2 `SETTINGS_MAX_HEADER_LIST_SIZE`"),
        .init(name: "server.default_timeout_seconds", defaultValue: "30",
              summary: "deadline of calls without `grpc-timeout`"),
        .init(name: "server.shutdown_grace_seconds", defaultValue: "10",
              summary: "how long calls in flight may run after SIGTERM/SIGINT"),
        .init(name: "server.idle_timeout_seconds", defaultValue: "3600",
              summary: "GOAWAY to a connection with no call open this long (0: never)"),
        .init(name: "server.max_connection_age_seconds", defaultValue: "0",
              summary: "GOAWAY to a connection this old, so clients behind an L4 balancer spread again (0: never)"),
        .init(name: "server.max_connection_age_grace_seconds", defaultValue: "30",
              summary: "after the maximum age, how long calls in flight may finish before the connection is closed"),
        .init(name: "server.preface_timeout_seconds", defaultValue: "10",
              summary: "close a connection that has not sent the HTTP/2 preface and SETTINGS by then (0: never)"),
        .init(name: "server.keepalive_min_ping_interval_seconds", defaultValue: "5",
              summary: "PINGs closer than this while no call is open are strikes; the third gets GOAWAY `ENHANCE_YOUR_CALM` \"too_many_pings\""),
        .init(name: "server.tls.cert_file", defaultValue: "",
              summary: "PEM certificate chain of the TCP listener; set it (and key_file) to serve TLS"),
        .init(name: "server.tls.key_file", defaultValue: "", summary: "PEM private key of server.tls.cert_file"),
        .init(name: "server.tls.client_ca_file", defaultValue: "",
              summary: "PEM CAs whose client certificates are required (mTLS)"),
        .init(name: "server.tls.min_version", defaultValue: "1.2",
              summary: "lowest TLS version accepted (`1.2` or `1.3`)"),
        .init(name: "server.max_messages_per_stream", defaultValue: "1000000",
              summary: "request messages one streaming call may send; one more is `RESOURCE_EXHAUSTED`"),
        .init(name: "server.milvus_passthrough", defaultValue: "true",
              summary: "serve `milvus.proto.milvus.MilvusService` for unmodified Milvus SDKs (see the pass-through in api.md)"),
        .init(name: "server.reflection", defaultValue: "true",
              summary: "serve gRPC server reflection (`grpc.reflection.v1` and `v1alpha`)"),
        .init(name: "server.max_inflight_calls", defaultValue: "1024",
              summary: "`vdbm.v1` calls running at once, all classes (admission control)"),
        .init(name: "server.max_inflight_searches", defaultValue: "512",
              summary: "`Search` calls running at once"),
        .init(name: "server.max_inflight_reads", defaultValue: "256",
              summary: "other reads (`Get`, `Query`, `Count`, describe/list/has) running at once"),
        .init(name: "server.max_inflight_writes", defaultValue: "128",
              summary: "`Insert`, `Upsert`, `Delete`, `Flush` running at once"),
        .init(name: "server.max_inflight_admin", defaultValue: "16",
              summary: "collection, index, partition, load/release calls running at once"),
        .init(name: "milvus.endpoints", defaultValue: "127.0.0.1:19530",
              summary: "Milvus proxies, `host:port`, comma-separated; an unhealthy one is skipped until it recovers"),
        .init(name: "milvus.connections_per_endpoint", defaultValue: "2",
              summary: "pooled HTTP/2 connections per endpoint (calls are multiplexed on them)"),
        .init(name: "milvus.max_waiting_calls", defaultValue: "1024",
              summary: "calls that may wait for a connection; more are `RESOURCE_EXHAUSTED`"),
        .init(name: "milvus.user", defaultValue: "", summary: "Milvus user (with password); empty: no credentials"),
        .init(name: "milvus.password", defaultValue: "", summary: "Milvus password; prefer VDBM_MILVUS_PASSWORD"),
        .init(name: "milvus.token", defaultValue: "",
              summary: "a Milvus token instead of user and password (`VDBM_MILVUS_TOKEN`)"),
        .init(name: "milvus.tls", defaultValue: "false",
              summary: "dial Milvus over TLS"),
        .init(name: "milvus.tls_ca_file", defaultValue: "",
              summary: "PEM CAs that signed Milvus's certificate; empty: the system's roots"),
        .init(name: "milvus.tls_server_name", defaultValue: "",
              summary: "name expected in Milvus's certificate and sent as SNI; empty: the endpoint's host"),
        .init(name: "milvus.tls_cert_file", defaultValue: "", summary: "PEM client certificate for Milvus's mTLS mode"),
        .init(name: "milvus.tls_key_file", defaultValue: "", summary: "PEM private key of milvus.tls_cert_file"),
        .init(name: "milvus.connect_timeout_seconds", defaultValue: "5",
              summary: "TCP connect (and TLS handshake) timeout"),
        .init(name: "milvus.keepalive_interval_seconds", defaultValue: "10",
              summary: "PING an idle Milvus connection after this long without a byte from Milvus"),
        .init(name: "milvus.busy_ping_after_seconds", defaultValue: "1",
              summary: "PING a connection with calls open after this long without a byte from Milvus"),
        .init(name: "milvus.ping_timeout_seconds", defaultValue: "3",
              summary: "a PING unanswered this long marks the connection dead or hung: it is closed and replaced"),
        .init(name: "milvus.retry_max_attempts", defaultValue: "4",
              summary: "attempts per Milvus call, the first included (1 = no retries)"),
        .init(name: "milvus.retry_initial_backoff_seconds", defaultValue: "0.02",
              summary: "first backoff ceiling (full jitter)"),
        .init(name: "milvus.retry_max_backoff_seconds", defaultValue: "2",
              summary: "largest backoff ceiling"),
        .init(name: "auth.enabled", defaultValue: "false",
              summary: "require API keys on `vdbm.v1.VectorDB`"),
        .init(name: "auth.api_keys", defaultValue: "",
              summary: "`name:role:sha256-hex`, comma-separated (best as `VDBM_AUTH_API_KEYS`)"),
        .init(name: "auth.passthrough_milvus_credentials", defaultValue: "false",
              summary: "pass-through clients may present their own Milvus `user:password` or token, sent on to Milvus"),
        .init(name: "limits.max_batch_rows", defaultValue: "100000",
              summary: "rows per `Insert`/`Upsert`, ids per `Get`/`Delete`"),
        .init(name: "limits.max_filter_bytes", defaultValue: "16384",
              summary: "bytes of one filter expression"),
        .init(name: "limits.max_search_vectors", defaultValue: "1024",
              summary: "query vectors per `Search`"),
        .init(name: "search.coalescing", defaultValue: "true",
              summary: "merge concurrent searches that differ only in their vectors into one Milvus search (see search coalescing in architecture.md)"),
        .init(name: "search.max_batch_vectors", defaultValue: "256",
              summary: "query vectors in one merged Milvus search (a single larger search still goes, alone)"),
        .init(name: "search.max_inflight_batches", defaultValue: "2",
              summary: "merged searches of one kind in flight at once"),
        .init(name: "search.max_queued_vectors", defaultValue: "16384",
              summary: "query vectors that may wait for a merged search; more are `RESOURCE_EXHAUSTED` at once"),
        .init(name: "search.max_wait_microseconds", defaultValue: "0",
              summary: "how long a search that could leave at once waits for company (0: never)"),
        .init(name: "search.regroup_wait_microseconds", defaultValue: "6000",
              summary: "how long the next merged search waits for the callers the last one answered (ends as soon as they are back)"),
        .init(name: "writes.coalescing", defaultValue: "true",
              summary: "merge concurrent `Insert`s (and, apart, `Upsert`s) of one collection and partition into one Milvus write (see write coalescing in architecture.md)"),
        .init(name: "writes.max_batch_rows", defaultValue: "512",
              summary: "rows in one merged Milvus write (a single larger call still goes, alone)"),
        .init(name: "writes.max_batch_bytes", defaultValue: "8388608",
              summary: "bytes of row data in one merged Milvus write (a single larger call still goes, alone)"),
        .init(name: "writes.max_inflight_batches", defaultValue: "2",
              summary: "merged writes of one collection, partition and kind in flight at once"),
        .init(name: "writes.max_queued_rows", defaultValue: "65536",
              summary: "rows that may wait for a merged write; more are `RESOURCE_EXHAUSTED` at once"),
        .init(name: "logging.level", defaultValue: "info",
              summary: "`trace`, `debug`, `info`, `notice`, `warning`, `error`, `critical`"),
        .init(name: "logging.access_log", defaultValue: "true",
              summary: "one line per call at `info`"),
        .init(name: "tracing.otlp_endpoint", defaultValue: "",
              summary: "an OpenTelemetry collector's OTLP/gRPC `host:port` (plaintext) that spans go to; empty: no tracing"),
        .init(name: "tracing.sample_ratio", defaultValue: "1.0",
              summary: "share of new traces recorded, 0 to 1; a call that continues a trace follows its caller's `sampled` flag"),
        .init(name: "tracing.service_name", defaultValue: "vdbm",
              summary: "the `service.name` spans carry"),
        .init(name: "admin.host", defaultValue: "127.0.0.1", summary: "address of the admin listener (/metrics, /healthz, /readyz)"),
        .init(name: "admin.port", defaultValue: "9464", summary: "port of the admin listener; 0 turns it off"),
    ]

    /// The known variable closest to `name` (fewest single-character edits), if it is close
    /// enough to be a typo of it: at most a third of its length away.
    public static func nearestEnvironmentName(to name: String) -> String? {
        let candidates = all.map { ($0.environmentName, editDistance($0.environmentName, name)) }
        guard let best = candidates.min(by: { $0.1 < $1.1 }), best.1 <= max(2, name.count / 3) else { return nil }
        return best.0
    }

    /// Levenshtein distance over UTF-8 bytes (the names are ASCII), one row at a time.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let b = Array(b.utf8)
        var row = Array(0...b.count)
        for (i, x) in a.utf8.enumerated() {
            var diagonal = row[0]
            row[0] = i + 1
            for (j, y) in b.enumerated() {
                let above = row[j + 1]
                row[j + 1] = Swift.min(above + 1, row[j] + 1, diagonal + (x == y ? 0 : 1))
                diagonal = above
            }
        }
        return row[b.count]
    }

    public static let byName: [String: ConfigurationKey] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })
}
