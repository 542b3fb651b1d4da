/*
 * hookgate.h - the public interface of libhookgate.
 *
 * This is the only header that gateway/ includes. It exposes:
 *   - the status codes and their HTTP mapping,
 *   - the configuration (loaded and validated once, read-only afterwards),
 *   - the request pipeline (route -> detect -> authenticate -> normalize),
 *   - the publisher (the boundary to Redis),
 *   - the logger.
 * Everything else in lib/ is private.
 */
#ifndef HOOKGATE_H
#define HOOKGATE_H

#include <stddef.h>
#include <stdint.h>

#define HG_VERSION "0.1.0"

#define HG_WUR __attribute__((warn_unused_result))
#define HG_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

/* ------------------------------------------------------------------------ */
/* Status                                                                    */
/* ------------------------------------------------------------------------ */

/*
 * One status for every fallible function. 0 is success. Each value maps to
 * exactly one HTTP status (hg_status_http) and one stable error code string
 * (hg_status_str) that is sent as "error" in JSON answers.
 */
enum hg_status {
    HG_OK = 0,
    HG_DUPLICATE,          /* 200: every event was published before */
    HG_PING,               /* 200: verified, answered, not published */
    HG_SPOOLED,            /* 200: Redis could not take it; safe in the local spool */
    HG_ERR_BAD_JSON,       /* 400 */
    HG_ERR_BAD_REQUEST,    /* 400: JSON, but not the provider's shape */
    HG_ERR_UNKNOWN_SOURCE, /* 400: no provider recognised */
    HG_ERR_AMBIGUOUS,      /* 400: several providers recognised */
    HG_ERR_UNAUTHORIZED,   /* 401: missing or wrong signature, unknown tenant */
    HG_ERR_STALE,          /* 401: timestamp outside the tolerance */
    HG_ERR_FORBIDDEN,      /* 403 */
    HG_ERR_NOT_FOUND,      /* 404 */
    HG_ERR_DISABLED,       /* 404: provider known but not enabled */
    HG_ERR_METHOD,         /* 405 */
    HG_ERR_TOO_LARGE,      /* 413 */
    HG_ERR_MEDIA_TYPE,     /* 415 */
    HG_ERR_URI_TOO_LONG,   /* 414 */
    HG_ERR_HEADERS,        /* 431: too many or too large header fields */
    HG_ERR_UNAVAILABLE,    /* 503: Redis cannot take the event now */
    HG_ERR_OVERLOADED,     /* 503: too many deliveries waiting to be published */
    HG_ERR_NOMEM,          /* 503 */
    HG_ERR_INTERNAL,       /* 500 */
    HG_ERR_CONFIG,         /* configuration file is invalid (not an HTTP answer) */
    HG_STATUS_COUNT
};

const char *hg_status_str(enum hg_status status);
int hg_status_http(enum hg_status status);

/* ------------------------------------------------------------------------ */
/* Logging                                                                   */
/* ------------------------------------------------------------------------ */

enum hg_log_level { HG_LOG_DEBUG = 0, HG_LOG_INFO, HG_LOG_WARN, HG_LOG_ERROR };

/* Changed on reload while other threads log: atomic. */
extern _Atomic enum hg_log_level hg_log_min_level;

/*
 * hg_log writes one JSON object on one line to stderr:
 *   {"time":"…","level":"info","msg":"<formatted>", <fields>}
 * `fields` is either NULL or a list of name/value string pairs ending with
 * NULL; values are JSON-escaped strings, except that a name starting with
 * '#' (dropped from the output) marks a value written as a JSON number. Use the HG_LOG macro so
 * that the level is checked before any argument is evaluated. Never pass a secret or a body.
 */
void hg_log_(enum hg_log_level level, const char *const *fields, const char *fmt, ...)
    HG_PRINTF(3, 4);

#define HG_LOG(level, ...)                                                                         \
    do {                                                                                           \
        if ((level) >= hg_log_min_level)                                                           \
            hg_log_((level), NULL, __VA_ARGS__);                                                   \
    } while (0)

#define HG_LOGF(level, fields, ...)                                                                \
    do {                                                                                           \
        if ((level) >= hg_log_min_level)                                                           \
            hg_log_((level), (fields), __VA_ARGS__);                                               \
    } while (0)

int hg_log_level_parse(const char *name, enum hg_log_level *out);

struct hg_request;

/* ------------------------------------------------------------------------ */
/* Configuration                                                             */
/* ------------------------------------------------------------------------ */

enum hg_stream_by { HG_STREAM_BY_PROVIDER = 0, HG_STREAM_BY_CATEGORY, HG_STREAM_BY_SINGLE };

/* A resolved secret: raw bytes, wiped with OPENSSL_cleanse when freed. */
struct hg_mac_key; /* a keyed HMAC context (crypto.c) */

struct hg_secret {
    unsigned char *bytes;
    size_t len;
    /* HMAC-SHA1 and HMAC-SHA256 keyed with `bytes`, made once by
     * hg_secret_prepare; NULL (then every MAC sets the key up again) in a
     * secret built by hand */
    struct hg_mac_key *mac[2];
};

struct hg_secret_list {
    struct hg_secret *items;
    size_t count;
};

struct hg_tenant {
    char *id;
    struct hg_secret_list secrets;
};

struct hg_cidr {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    unsigned prefix_len;
};

struct hg_cidr_list {
    struct hg_cidr *items;
    size_t count;
};

/* Per-provider settings; indexed like the provider registry. */
struct hg_provider_config {
    int enabled;
    struct hg_secret_list secrets;
    struct hg_tenant *tenants;
    size_t tenant_count;
    void *extra; /* provider-specific settings, owned by the provider's hooks */
};

struct hg_redis_config {
    char *url; /* redis://[:password@]host[:port][/db] or unix:///path; may hold a password */
    char *prefix;
    enum hg_stream_by stream_by;
    int64_t maxlen;
    int64_t dedup_ttl_s;
    int64_t timeout_ms;
    int64_t wait_replicas;
    int64_t rejected_maxlen;     /* cap of <prefix>:{rejected} */
    int64_t rejected_per_second; /* records per second at most; 0: none recorded */
};

struct hg_spool_config {
    char *dir;
    int64_t max_bytes;
};

struct hg_config {
    char *file; /* the path it was loaded from, for messages */
    char *listen;
    char *admin_listen; /* "" when /metrics is served on `listen` */
    char *path_prefix;
    int64_t max_body;
    int64_t timestamp_tolerance_s;
    int64_t threads;              /* 0 = one per CPU */
    int64_t connection_timeout_s; /* idle connection timeout */
    int64_t max_connections;
    int64_t max_connections_per_ip; /* 0: no limit */
    int64_t request_timeout_s;      /* whole request, headers and body */
    int64_t max_pending;            /* deliveries waiting on the publisher */
    struct hg_cidr_list trusted_proxies;
    enum hg_log_level log_level;
    struct hg_redis_config redis;
    struct hg_spool_config spool;
    struct hg_provider_config *providers; /* hg_provider_count() entries */
};

/*
 * Loads and validates the file at `path`. On success *out owns a config to
 * release with hg_config_free. On failure returns HG_ERR_CONFIG (or
 * HG_ERR_NOMEM) and writes "<file>: <key>: <what is wrong>" into err.
 */
enum hg_status hg_config_load(const char *path, struct hg_config **out, char *err,
                              size_t err_size) HG_WUR;
/* As hg_config_load, from text in memory; `name` is used in messages. */
enum hg_status hg_config_parse(const char *name, const char *text, size_t len,
                               struct hg_config **out, char *err, size_t err_size) HG_WUR;
void hg_config_free(struct hg_config *config);

/* ------------------------------------------------------------------------ */
/* Providers                                                                 */
/* ------------------------------------------------------------------------ */

struct hg_provider;

/*
 * Calls `warn` once for each configured choice that start-up should warn
 * about (for example a provider accepting unauthenticated deliveries).
 */
void hg_config_warnings(const struct hg_config *config, void (*warn)(const char *message));

/*
 * The client address of a request: the peer, or, when the peer is one of
 * trusted_proxies, the nearest untrusted address of X-Forwarded-For.
 * Returns 0, or -1 when it cannot be told (unparsable address or hop).
 */
int hg_client_addr(const struct hg_config *config, const struct hg_request *req, char *out,
                   size_t out_size);

size_t hg_provider_count(void);
const struct hg_provider *hg_provider_at(size_t index);
/* Looks a provider up by its config name; -1 when unknown. */
int hg_provider_index(const char *name, size_t len);
const char *hg_provider_name(const struct hg_provider *provider);
/* 1 when <prefix>/<name>/<segment> carries a credential rather than a tenant. */
int hg_provider_path_segment_is_secret(const char *name);

/* ------------------------------------------------------------------------ */
/* Request pipeline                                                          */
/* ------------------------------------------------------------------------ */

/* A request header, borrowed from the HTTP layer for the duration of a call. */
struct hg_header {
    const char *name;
    const char *value;
};

struct hg_request {
    const struct hg_header *headers;
    size_t header_count;
    const char *body; /* raw bytes, not NUL-terminated */
    size_t body_len;
    const char *route_provider; /* NULL on the detecting route */
    const char *route_tenant;   /* NULL when the path has no tenant */
    const char *client_addr;    /* textual peer address, may be NULL */
    int64_t now_ms;             /* wall clock, unix milliseconds */
};

/* One normalized event, ready to publish. Strings are NUL-terminated. */
struct hg_event {
    char *id;   /* "<provider>:<64 hex>" */
    char *type; /* "<provider>.<event>" */
    const char *category;
    const char *provider;
    char *stream;   /* stream key */
    char *seen_key; /* dedup key */
    char *envelope; /* CloudEvents JSON */
    size_t envelope_len;
};

struct hg_outcome;
struct hg_publish_job;

/*
 * Runs a request through detection, authentication and normalization.
 * Always returns an outcome (NULL only when out of memory); read its status
 * with hg_outcome_status. The outcome borrows nothing from `req` and is freed
 * with hg_outcome_free.
 */
struct hg_outcome *hg_process(const struct hg_config *config, const struct hg_request *req);

/*
 * As hg_process, with the outcome and everything it holds allocated in
 * `arena`, which the caller owns: hg_outcome_free then frees nothing, and the
 * outcome lives until the arena is reset or freed. A connection reuses one
 * arena for all its requests (hg_arena_reset), instead of allocating anew.
 */
struct hg_arena;
struct hg_outcome *hg_process_in(struct hg_arena *arena, const struct hg_config *config,
                                 const struct hg_request *req);

enum hg_status hg_outcome_status(const struct hg_outcome *outcome);
/* The provider it was attributed to, or NULL when none was. */
const char *hg_outcome_provider(const struct hg_outcome *outcome);
/* A human-readable reason for a refusal; never contains a secret. */
const char *hg_outcome_message(const struct hg_outcome *outcome);
const struct hg_event *hg_outcome_events(const struct hg_outcome *outcome, size_t *count);
/* Prepares a publish job for the outcome's events (and its single-use token). */
void hg_outcome_job(const struct hg_outcome *outcome, struct hg_publish_job *job);
void hg_outcome_free(struct hg_outcome *outcome);

/* ------------------------------------------------------------------------ */
/* Publisher                                                                 */
/* ------------------------------------------------------------------------ */

/*
 * The publisher owns the Redis connection and a thread that is its only user.
 * Callers hand it a batch of events; the thread pipelines every queued batch
 * into one round trip and completes each batch with its result. A batch is
 * published all-or-nothing by one script call that also records the dedup
 * keys.
 */
struct hg_publisher;

struct hg_publish_job {
    const struct hg_event *events;
    size_t event_count;
    /* Optional single-use token: key, the event id it belongs to, its TTL. */
    const char *nonce_key;
    const char *nonce_value;
    int64_t nonce_ttl_s;
    /* Results, set before `done` is called. */
    /* HG_OK, HG_DUPLICATE (all seen before), HG_SPOOLED, HG_ERR_UNAUTHORIZED
     * (token replayed) or HG_ERR_UNAVAILABLE */
    enum hg_status status;
    size_t new_count; /* events added by this job */
    /* Called once, on the publisher thread, when the job is complete. */
    void (*done)(struct hg_publish_job *job);
    void *cookie;
    struct hg_publish_job *next; /* private to the publisher */
};

/*
 * Starts the publisher: opens (and recovers) the spool, makes the first Redis
 * connection attempt, starts the publisher and drainer threads. On failure
 * returns an error with err naming the key at fault.
 */
enum hg_status hg_publisher_new(const struct hg_redis_config *redis,
                                const struct hg_spool_config *spool, struct hg_publisher **out,
                                char *err, size_t err_size) HG_WUR;
/*
 * Completes every queued job (into Redis or the spool) and stops the threads.
 * Jobs submitted afterwards are spooled by the caller (or fail with 503).
 */
void hg_publisher_stop(struct hg_publisher *publisher);
/* Stops (if not yet) and frees. */
void hg_publisher_free(struct hg_publisher *publisher);
/* Queues a job; `done` runs later on the publisher thread. */
void hg_publisher_submit(struct hg_publisher *publisher, struct hg_publish_job *job);

/* A refused delivery, for <prefix>:{rejected}: never a secret, never a body. */
struct hg_rejection {
    const char *reason;   /* error code, e.g. "unauthorized" */
    const char *message;  /* the refusal's reason text */
    const char *provider; /* NULL when not attributed */
    const char *client;
    const char *path;       /* with credentials in the path masked */
    const char *request_id; /* as in the log line and X-Request-Id */
    int http_status;
    const void *body; /* hashed (sha256), never stored; may be NULL */
    size_t body_len;
    size_t size; /* body bytes received, or declared when refused before reading */
};

/*
 * Queues a refusal for the rejected stream. Never blocks: a record is
 * dropped (and counted) past the rate limit, when the queue is full, or when
 * Redis is down — refusals are diagnostics, not events.
 */
void hg_publisher_reject(struct hg_publisher *publisher, const struct hg_rejection *rejection);

struct hg_publisher_state {
    int redis_up;
    int spool_enabled;
    int spool_writable; /* appends work and there is room */
    int64_t spool_bytes;
    int64_t spool_records;
    int64_t spool_oldest_ms; /* 0 when the spool is empty */
};
void hg_publisher_state(const struct hg_publisher *publisher, struct hg_publisher_state *out);

/* ------------------------------------------------------------------------ */
/* Signing (hookgate sign)                                                   */
/* ------------------------------------------------------------------------ */

#define HG_SIGNED_HEADERS_MAX 8

struct hg_sign_options {
    const char *provider;
    const char *secret; /* the secret, API key, token, or user:password */
    size_t secret_len;
    const char *tenant;       /* route tenant; 1UPVISION's X-ServiceHook-UUID */
    const char *event;        /* event name where the provider sends one */
    const char *token_header; /* ombori: send the token in this header, not the path */
    int basic;                /* ombori: the secret is user:password for HTTP Basic */
    const char *path_prefix;  /* the gateway's path_prefix; NULL: "/webhooks" */
    int64_t now_ms;
};

/* The request a provider would send: path (under /webhooks), headers, body. */
struct hg_signed_request {
    char *path;
    struct {
        char *name;
        char *value;
    } headers[HG_SIGNED_HEADERS_MAX];
    size_t header_count;
    char *body;
    size_t body_len;
};

/*
 * Builds and signs the request the provider would send for `input` (for
 * TruTac, 1UPVISION and Ombori the body as is; for Teamgo and inline the
 * signed body is built around it). On failure err says why.
 */
enum hg_status hg_sign(const struct hg_sign_options *options, const char *input, size_t input_len,
                       struct hg_signed_request *out, char *err, size_t err_size) HG_WUR;
void hg_signed_request_free(struct hg_signed_request *request);

/*
 * Resolves a secret reference ("env:NAME", "file:/path" or a literal) as the
 * configuration does. Returns malloc'd bytes (free with hg_secret_free), or
 * NULL with err filled.
 */
unsigned char *hg_secret_resolve(const char *ref, size_t *len, char *err, size_t err_size);
void hg_secret_free(unsigned char *secret, size_t len);

/* ------------------------------------------------------------------------ */
/* Metrics                                                                   */
/* ------------------------------------------------------------------------ */

struct hg_buf;

/* Counts one answered webhook request (provider NULL when not attributed). */
void hg_metrics_request(const char *provider, enum hg_status status);
/* Counts one publish: its latency and the events it added. */
void hg_metrics_publish(const char *provider, double seconds, size_t events_added);
/* Counts a refusal recorded in (1) or dropped from (0) the rejected stream. */
void hg_metrics_rejection(int recorded);
/* Appends the Prometheus text exposition; 0, or -1 when the buffer cap ran out. */
int hg_metrics_render(struct hg_buf *out, const struct hg_publisher_state *state, int64_t now_ms);

/* ------------------------------------------------------------------------ */
/* Small utilities shared with the daemon                                    */
/* ------------------------------------------------------------------------ */

int64_t hg_now_ms(void);
/* Writes "YYYY-MM-DDTHH:MM:SS.mmmZ" (25 bytes with NUL). */
void hg_format_time_ms(int64_t unix_ms, char out[32]);

#endif
