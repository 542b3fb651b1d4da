/*
 * http.c - libmicrohttpd glue: routes, limits, and the translation of
 * library statuses into HTTP answers.
 *
 * The daemon runs a poll() thread pool. A request is checked as soon as its
 * headers are in (path, method, content type, declared length), so a refusal
 * costs no body reading; the body then streams into a buffer capped at
 * max_body, and everything past the cap is discarded, never buffered.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <pthread.h>
#include <unistd.h>

#include <microhttpd.h>

#include "addr.h"
#include "http.h"
#include "buf.h"

#define MAX_HEADERS 100 /* header fields in one request, at most (431 past it) */
#define MAX_URL 2048    /* bytes of path, at most (414 past it) */
/* Per connection: request line, headers and read buffer. libmicrohttpd clears
 * the unused part between keep-alive requests, so this is also a per-request
 * cost (the largest single one at 64 KiB, see docs/performance.md). */
#define CONNECTION_MEMORY (32 * 1024)
/* A connection keeps its last request's buffers for the next one, unless
 * the body buffer grew past this. */
#define KEEP_BODY_BUFFER (64 * 1024)
/* A chunked body is discarded past max_body; past this many times the cap the
 * connection is closed rather than read forever. */
#define DISCARD_FACTOR 4

/* A configuration shared by the requests that started under it. */
struct config_ref {
    struct hg_config *config;
    atomic_int refs;
};

struct gw_server {
    struct MHD_Daemon *daemon;
    pthread_mutex_t config_lock;
    struct config_ref *current;
    struct hg_publisher *publisher;
    int listen_fd;
    char *unix_path;
    struct MHD_Daemon *admin; /* /metrics, /healthz, /readyz on admin_listen */
    int admin_fd;
    char *admin_unix_path;
    int quiesced;
    atomic_int stopping;     /* shutting down: new requests are refused */
    atomic_long pending;     /* suspended on the publisher */
    atomic_long connections; /* open on the main listener */
    long max_connections;    /* from the start-up configuration */
    atomic_long in_flight;
    atomic_ulong next_id;
    unsigned long id_salt;
};

enum route_kind { ROUTE_WEBHOOK, ROUTE_HEALTHZ, ROUTE_READYZ, ROUTE_METRICS };

struct request {
    struct gw_server *server;
    struct config_ref *config; /* the configuration it started under */
    struct hg_buf body;
    size_t discarded;
    int too_large;
    char *route_provider;
    char *route_tenant;
    double start_ms; /* monotonic */
    char id[20];
    char client[INET6_ADDRSTRLEN + 8]; /* behind trusted proxies, once known */
    struct hg_outcome *outcome;
    struct hg_publish_job job;
    struct MHD_Connection *conn;
    int publishing;       /* suspended until the publisher completes `job` */
    atomic_int published; /* set by the publisher before it resumes the connection */
    double publish_start_ms;
    struct hg_arena *arena; /* the outcome's; reset, not freed, between requests */
};

/*
 * Per connection (libmicrohttpd's socket context): the request structure of
 * the last request, kept with its body buffer and arena for the next one, so
 * that a keep-alive connection does not allocate them again for every
 * delivery.
 */
struct conn_cache {
    struct request *spare;
};

static double
monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static struct config_ref *
config_acquire(struct gw_server *s)
{
    struct config_ref *ref;

    pthread_mutex_lock(&s->config_lock);
    ref = s->current;
    atomic_fetch_add(&ref->refs, 1);
    pthread_mutex_unlock(&s->config_lock);
    return ref;
}

static void
config_release(struct config_ref *ref)
{
    if (ref && atomic_fetch_sub(&ref->refs, 1) == 1) {
        hg_config_free(ref->config);
        free(ref);
    }
}

/* ------------------------------------------------------------------------ */
/* Answers                                                                   */
/* ------------------------------------------------------------------------ */

/* Queues a JSON answer; `header` (e.g. Allow, Retry-After) may be NULL. */
static enum MHD_Result
send_body(struct MHD_Connection *conn, unsigned http, const char *request_id, const char *body,
          size_t len, const char *header, const char *value)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    resp = MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (request_id)
        MHD_add_response_header(resp, "X-Request-Id", request_id);
    if (header)
        MHD_add_response_header(resp, header, value);
    ret = MHD_queue_response(conn, http, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result
send_error(struct MHD_Connection *conn, const char *request_id, enum hg_status status,
           const char *message, const char *allow)
{
    struct hg_buf b;
    enum MHD_Result ret;

    hg_buf_init(&b, 4096);
    hg_buf_appends(&b, "{\"error\":");
    hg_buf_append_json_str(&b, hg_status_str(status), strlen(hg_status_str(status)));
    hg_buf_appends(&b, ",\"message\":");
    hg_buf_append_json_str(&b, message, strlen(message));
    hg_buf_appends(&b, "}\n");
    if (b.failed)
        ret = MHD_NO;
    else if (hg_status_http(status) == 503)
        /* overload clears fast; an outage of Redis and the spool takes longer */
        ret = send_body(conn, 503, request_id, b.data, b.len, "Retry-After",
                        status == HG_ERR_OVERLOADED ? "1" : "5");
    else
        ret = send_body(conn, (unsigned)hg_status_http(status), request_id, b.data, b.len,
                        allow ? "Allow" : NULL, allow);
    hg_buf_free(&b);
    return ret;
}

/* ------------------------------------------------------------------------ */
/* Logging                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * The peer's address as text. A peer on the unix socket is the local reverse
 * proxy: it counts as 127.0.0.1, so that trusted_proxies can name it.
 */
static void
client_address(struct MHD_Connection *conn, char *out, size_t size)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;

    snprintf(out, size, "127.0.0.1");
    if (sa == NULL)
        return;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)size);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)size);
}

/* A request id: unique per process run, not guessable across runs. */
static void
new_request_id(struct gw_server *s, char out[20])
{
    unsigned long n = atomic_fetch_add(&s->next_id, 1) + 1;

    unsigned long v = s->id_salt ^ (n * 0x9E3779B97F4A7C15UL);

    /* 16 lowercase hex digits (as "%016lx" of 64 bits), by hand: every
     * request takes one */
    for (int i = 15; i >= 0; i--, v >>= 4)
        out[i] = "0123456789abcdef"[v & 15];
    out[16] = '\0';
}

/*
 * The path as logged: for a provider whose path segment is a credential
 * (Ombori's token), the segment is shown as '*'.
 */
static void
loggable_path(const char *prefix, const char *url, char *out, size_t size)
{
    size_t plen = strlen(prefix);
    const char *seg, *slash;

    snprintf(out, size, "%s", url);
    if (strncmp(url, prefix, plen) != 0 || url[plen] != '/')
        return;
    seg = url + plen + 1;
    slash = strchr(seg, '/');
    if (slash == NULL)
        return;
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)(slash - seg), seg);
    if (hg_provider_path_segment_is_secret(name))
        snprintf(out, size, "%.*s/*", (int)(slash - url), url);
}

static void
log_request(const struct hg_config *config, struct request *r, const char *id,
            struct MHD_Connection *conn, const char *method, const char *url, const char *provider,
            enum hg_status status, const char *message)
{
    enum hg_log_level level = hg_status_http(status) >= 500 ? HG_LOG_WARN : HG_LOG_INFO;
    char client[INET6_ADDRSTRLEN + 8], http[8], latency[24], size[24], path[512];

    if (level < hg_log_min_level)
        return;
    if (r && r->client[0])
        snprintf(client, sizeof client, "%s", r->client);
    else
        client_address(conn, client, sizeof client);
    loggable_path(config->path_prefix, url, path, sizeof path);
    snprintf(http, sizeof http, "%d", hg_status_http(status));
    snprintf(latency, sizeof latency, "%.3f", r ? monotonic_ms() - r->start_ms : 0.0);
    snprintf(size, sizeof size, "%zu", r ? r->body.len + r->discarded : 0);
    /* name/value pairs; '#' marks a number */
    // clang-format off
    const char *fields[] = {
        "request_id",  r ? r->id : id ? id : "-",
        "method",      method,
        "path",        path,
        "client",      client,
        "provider",    provider ? provider : "-",
        "#status",     http,
        "outcome",     hg_status_str(status),
        "#latency_ms", latency,
        "#body_bytes", size,
        message && message[0] ? "reason" : NULL, message,
        NULL,
    };
    // clang-format on
    hg_log_(level, fields, "request");
}

/* The request's Content-Length, or 0 when absent or unreadable. */
static size_t
declared_length(struct MHD_Connection *conn)
{
    const char *cl =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

    return cl ? (size_t)strtoull(cl, NULL, 10) : 0;
}

/*
 * Everything that follows an answer to a webhook request: the log line, the
 * metrics, and for a refusal, a record in the rejected stream.
 */
static void
account(struct gw_server *s, const struct hg_config *config, struct request *r, const char *id,
        struct MHD_Connection *conn, const char *method, const char *url, const char *provider,
        enum hg_status status, const char *message, size_t declared_size)
{
    log_request(config, r, id, conn, method, url, provider, status, message);
    hg_metrics_request(provider, status);
    if (hg_status_http(status) >= 400) {
        char client[INET6_ADDRSTRLEN + 8], path[512];
        struct hg_rejection rej = {
            .reason = hg_status_str(status),
            .message = message,
            .provider = provider,
            .client = client,
            .path = path,
            .request_id = r ? r->id : id,
            .http_status = hg_status_http(status),
            .body = r && !r->too_large ? r->body.data : NULL,
            .body_len = r && !r->too_large ? r->body.len : 0,
            .size = r ? r->body.len + r->discarded : declared_size,
        };

        if (r && r->client[0])
            snprintf(client, sizeof client, "%s", r->client);
        else
            client_address(conn, client, sizeof client);
        loggable_path(config->path_prefix, url, path, sizeof path);
        hg_publisher_reject(s->publisher, &rej);
    }
}

/* ------------------------------------------------------------------------ */
/* Routing                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * Splits "<prefix>[/<provider>[/<tenant>]]". Returns 0 and sets the segments
 * (pointers into a copy the caller frees), or -1 for a path that is not a
 * webhook route.
 */
static int
route(const char *prefix, const char *url, char **provider, char **tenant)
{
    size_t plen = strlen(prefix);
    const char *rest, *slash;

    *provider = *tenant = NULL;
    if (strncmp(url, prefix, plen) != 0)
        return -1;
    rest = url + plen;
    if (*rest == '\0')
        return 0;
    if (*rest != '/' || rest[1] == '\0')
        return -1;
    rest++;
    slash = strchr(rest, '/');
    if (slash == NULL) {
        *provider = strdup(rest);
        return *provider ? 0 : -1;
    }
    if (slash == rest || slash[1] == '\0' || strchr(slash + 1, '/') != NULL)
        return -1;
    *provider = strndup(rest, (size_t)(slash - rest));
    *tenant = strdup(slash + 1);
    if (*provider == NULL || *tenant == NULL) {
        free(*provider);
        free(*tenant);
        *provider = *tenant = NULL;
        return -1;
    }
    return 0;
}

/* application/json, with optional parameters ("; charset=utf-8"). */
static int
is_json_content_type(const char *ct)
{
    static const char want[] = "application/json";
    size_t n = sizeof want - 1;

    if (ct == NULL)
        return 0;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    if (strncasecmp(ct, want, n) != 0)
        return 0;
    ct += n;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return *ct == '\0' || *ct == ';';
}

/* ------------------------------------------------------------------------ */
/* Handlers                                                                  */
/* ------------------------------------------------------------------------ */

/* During shutdown: 503, and the connection is closed after the answer. */
static enum MHD_Result
send_closing(struct MHD_Connection *conn, const char *request_id)
{
    static const char body[] = "{\"error\":\"unavailable\",\"message\":\"shutting down; retry\"}\n";
    struct MHD_Response *resp;
    enum MHD_Result ret;

    resp = MHD_create_response_from_buffer(sizeof body - 1, (void *)(uintptr_t)body,
                                           MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "Retry-After", "1");
    MHD_add_response_header(resp, "Connection", "close");
    MHD_add_response_header(resp, "X-Request-Id", request_id);
    ret = MHD_queue_response(conn, 503, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result
serve_metrics(struct gw_server *s, struct MHD_Connection *conn)
{
    struct hg_publisher_state ps;
    struct MHD_Response *resp;
    struct hg_buf b;
    enum MHD_Result ret;

    hg_publisher_state(s->publisher, &ps);
    hg_buf_init(&b, 1024 * 1024);
    if (hg_metrics_render(&b, &ps, hg_now_ms()) != 0) {
        hg_buf_free(&b);
        return send_error(conn, NULL, HG_ERR_INTERNAL, "metrics do not fit", NULL);
    }
    /* the HTTP side's own gauges */
    hg_buf_appendf(&b,
                   "# HELP hookgate_connections Connections open on the webhook listener.\n"
                   "# TYPE hookgate_connections gauge\n"
                   "hookgate_connections %ld\n"
                   "# HELP hookgate_requests_in_progress Webhook requests received and not yet "
                   "answered.\n"
                   "# TYPE hookgate_requests_in_progress gauge\n"
                   "hookgate_requests_in_progress %ld\n"
                   "# HELP hookgate_requests_publishing Requests waiting for their events to be "
                   "published (or spooled) before they are answered.\n"
                   "# TYPE hookgate_requests_publishing gauge\n"
                   "hookgate_requests_publishing %ld\n",
                   (long)atomic_load(&s->connections), (long)atomic_load(&s->in_flight),
                   (long)atomic_load(&s->pending));
    if (b.failed) {
        hg_buf_free(&b);
        return send_error(conn, NULL, HG_ERR_INTERNAL, "metrics do not fit", NULL);
    }
    resp = MHD_create_response_from_buffer(b.len, b.data, MHD_RESPMEM_MUST_COPY);
    hg_buf_free(&b);
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    ret = MHD_queue_response(conn, 200, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result
serve_ops(struct gw_server *s, struct MHD_Connection *conn, enum route_kind kind,
          const char *method, const char *url)
{
    static const char ok[] = "{\"status\":\"ok\"}\n";
    static const char ready[] = "{\"status\":\"ready\",\"redis\":\"up\"}\n";
    static const char spooling[] =
        "{\"status\":\"ready\",\"redis\":\"down\",\"spool\":\"writable\"}\n";

    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        struct config_ref *ref = config_acquire(s);

        log_request(ref->config, NULL, NULL, conn, method, url, NULL, HG_ERR_METHOD, "use GET");
        config_release(ref);
        return send_error(conn, NULL, HG_ERR_METHOD, "use GET", "GET, HEAD");
    }
    if (kind == ROUTE_HEALTHZ)
        return send_body(conn, 200, NULL, ok, sizeof ok - 1, NULL, NULL);
    if (kind == ROUTE_METRICS)
        return serve_metrics(s, conn);
    struct hg_publisher_state ps;
    hg_publisher_state(s->publisher, &ps);
    if (ps.redis_up)
        return send_body(conn, 200, NULL, ready, sizeof ready - 1, NULL, NULL);
    if (ps.spool_enabled && ps.spool_writable)
        return send_body(conn, 200, NULL, spooling, sizeof spooling - 1, NULL, NULL);
    return send_error(conn, NULL, HG_ERR_UNAVAILABLE,
                      ps.spool_enabled ? "redis is unreachable and the spool is full or unwritable"
                                       : "redis is unreachable and the spool is disabled",
                      NULL);
}

/* Checks what the headers alone can refuse; returns HG_OK to read the body. */
static enum hg_status
check_headers(const struct hg_config *config, struct MHD_Connection *conn, const char *method,
              const char *provider, const char **why, size_t *declared)
{
    const char *ct;

    if (MHD_get_connection_values(conn, MHD_HEADER_KIND, NULL, NULL) > MAX_HEADERS) {
        *why = "too many header fields";
        return HG_ERR_HEADERS;
    }
    if (provider && hg_provider_index(provider, strlen(provider)) < 0) {
        *why = "no such provider";
        return HG_ERR_NOT_FOUND;
    }
    if (strcmp(method, "POST") != 0) {
        *why = "webhooks are delivered with POST";
        return HG_ERR_METHOD;
    }
    ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!is_json_content_type(ct)) {
        *why = "Content-Type must be application/json";
        return HG_ERR_MEDIA_TYPE;
    }
    *declared = declared_length(conn);
    if (*declared > (size_t)config->max_body) {
        *why = "body is larger than max_body";
        return HG_ERR_TOO_LARGE;
    }
    return HG_OK;
}

/* Releases what belongs to the request itself (not its buffers). */
static void
request_end(struct request *r)
{
    hg_outcome_free(r->outcome);
    config_release(r->config);
    free(r->route_provider);
    free(r->route_tenant);
}

static void
request_free(struct request *r)
{
    if (r == NULL)
        return;
    request_end(r);
    hg_buf_free(&r->body);
    hg_arena_free(r->arena);
    free(r);
}

/* The connection's cache (NULL if it could not be allocated). */
static struct conn_cache *
connection_cache(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return ci ? ci->socket_context : NULL;
}

/* A request structure: the connection's spare one, or a new one. */
static struct request *
request_get(struct MHD_Connection *conn)
{
    struct conn_cache *cache = connection_cache(conn);
    struct request *r;

    if (cache && cache->spare) {
        r = cache->spare;
        cache->spare = NULL;
        return r;
    }
    if ((r = calloc(1, sizeof *r)) == NULL)
        return NULL;
    if ((r->arena = hg_arena_new()) == NULL) {
        free(r);
        return NULL;
    }
    return r;
}

/* The request is over: keep its buffers for the connection's next one. */
static void
request_put(struct MHD_Connection *conn, struct request *r)
{
    struct conn_cache *cache = connection_cache(conn);
    struct hg_buf body = r->body;
    struct hg_arena *arena = r->arena;

    if (cache == NULL || cache->spare != NULL || body.cap > KEEP_BODY_BUFFER) {
        request_free(r);
        return;
    }
    request_end(r);
    hg_arena_reset(arena);
    memset(r, 0, sizeof *r);
    r->body = body;
    hg_buf_reset(&r->body);
    r->arena = arena;
    cache->spare = r;
}

struct header_vec {
    struct hg_header items[MAX_HEADERS];
    size_t count;
};

static enum MHD_Result
collect_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct header_vec *v = cls;

    (void)kind;
    if (v->count < MAX_HEADERS && key && value) {
        v->items[v->count].name = key;
        v->items[v->count].value = value;
        v->count++;
    }
    return MHD_YES;
}

static void
append_ids(struct hg_buf *b, const struct hg_event *events, size_t count)
{
    hg_buf_appends(b, ",\"ids\":[");
    for (size_t i = 0; i < count; i++) {
        if (i)
            hg_buf_appendc(b, ',');
        hg_buf_append_json_str(b, events[i].id, strlen(events[i].id));
    }
    hg_buf_appends(b, "]}\n");
}

/* Answers once the outcome is final (refused, or its publish complete). */
static enum MHD_Result
answer(struct request *r, struct MHD_Connection *conn, const char *method, const char *url,
       enum hg_status status)
{
    struct gw_server *s = r->server;
    const struct hg_config *config = r->config->config;
    struct hg_outcome *outcome = r->outcome;
    const char *provider = hg_outcome_provider(outcome);
    size_t count;
    const struct hg_event *events = hg_outcome_events(outcome, &count);
    enum MHD_Result ret;

    if (hg_status_http(status) == 200) {
        struct hg_buf b;
        const char *word = status == HG_OK ? "accepted" : hg_status_str(status);

        hg_buf_init(&b, 64 + count * 128);
        hg_buf_appends(&b, "{\"status\":\"");
        hg_buf_appends(&b, word);
        hg_buf_appendc(&b, '"');
        append_ids(&b, events, status == HG_PING ? 0 : count);
        account(s, config, r, NULL, conn, method, url, provider, status, NULL, 0);
        ret = b.failed ? MHD_NO : send_body(conn, 200, r->id, b.data, b.len, NULL, NULL);
        hg_buf_free(&b);
    } else {
        const char *message = status == HG_ERR_UNAVAILABLE
                                  ? "neither redis nor the spool can take the event now; retry"
                              : hg_outcome_status(outcome) == HG_OK
                                  ? "the token was already used by another event (replay)"
                                  : hg_outcome_message(outcome);

        account(s, config, r, NULL, conn, method, url, provider, status, message, 0);
        ret = send_error(conn, r->id, status, message, NULL);
    }
    return ret;
}

/* Back on the worker after a publish: it no longer counts as waiting. */
static void
publish_finished(struct request *r)
{
    r->publishing = 0;
    atomic_fetch_sub(&r->server->pending, 1);
    hg_metrics_publish(hg_outcome_provider(r->outcome),
                       (monotonic_ms() - r->publish_start_ms) / 1000.0, r->job.new_count);
}

/* On the publisher thread: the events are safe (or not); wake the connection. */
static void
published(struct hg_publish_job *job)
{
    struct request *r = job->cookie;

    atomic_store(&r->published, 1);
    MHD_resume_connection(r->conn);
}

/*
 * The body is complete: run the pipeline, then hand the events to the
 * publisher and suspend the connection until they are confirmed, so no
 * worker thread waits on Redis. libmicrohttpd calls the handler again after
 * the resume, which answers (see handle()).
 */
static enum MHD_Result
finish(struct request *r, struct MHD_Connection *conn, const char *method, const char *url)
{
    struct gw_server *s = r->server;
    const struct hg_config *config = r->config->config;
    struct header_vec headers;
    struct hg_request req;
    enum hg_status status;
    char client[INET6_ADDRSTRLEN + 8];

    if (r->too_large) {
        account(s, config, r, NULL, conn, method, url, NULL, HG_ERR_TOO_LARGE,
                "body is larger than max_body", 0);
        return send_error(conn, r->id, HG_ERR_TOO_LARGE, "body is larger than max_body", NULL);
    }
    headers.count = 0;
    MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, &headers);
    client_address(conn, client, sizeof client);
    memset(&req, 0, sizeof req);
    req.headers = headers.items;
    req.header_count = headers.count;
    req.body = r->body.data ? r->body.data : "";
    req.body_len = r->body.len;
    req.route_provider = r->route_provider;
    req.route_tenant = r->route_tenant;
    req.client_addr = client;
    req.now_ms = hg_now_ms();

    r->outcome = hg_process_in(r->arena, config, &req);
    if (r->outcome == NULL) {
        account(s, config, r, NULL, conn, method, url, NULL, HG_ERR_NOMEM, "out of memory", 0);
        return send_error(conn, r->id, HG_ERR_NOMEM, "out of memory", NULL);
    }
    if (hg_client_addr(config, &req, r->client, sizeof r->client) != 0)
        snprintf(r->client, sizeof r->client, "%s", client);
    status = hg_outcome_status(r->outcome);
    hg_outcome_job(r->outcome, &r->job);
    if (status != HG_OK || r->job.event_count == 0)
        return answer(r, conn, method, url, status);

    r->job.done = published;
    r->job.cookie = r;
    r->conn = conn;
    r->publishing = 1;
    atomic_store(&r->published, 0);
    r->publish_start_ms = monotonic_ms();
    atomic_fetch_add(&s->pending, 1);
    MHD_suspend_connection(conn);
    hg_publisher_submit(s->publisher, &r->job);
    return MHD_YES;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
       const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    struct gw_server *s = cls;
    struct request *r = *con_cls;

    (void)version;
    if (r == NULL) {
        char *provider = NULL, *tenant = NULL;
        const char *why = NULL;
        size_t declared = 0;
        struct config_ref *ref;
        char id[20];
        enum hg_status st;

        if (strcmp(url, "/healthz") == 0)
            return serve_ops(s, conn, ROUTE_HEALTHZ, method, url);
        if (strcmp(url, "/readyz") == 0)
            return serve_ops(s, conn, ROUTE_READYZ, method, url);
        if (strcmp(url, "/metrics") == 0 && s->admin == NULL)
            return serve_ops(s, conn, ROUTE_METRICS, method, url);
        new_request_id(s, id);
        if (atomic_load(&s->stopping))
            return send_closing(conn, id);
        ref = config_acquire(s);
        if (strlen(url) > MAX_URL) {
            account(s, ref->config, NULL, id, conn, method, "(too long)", NULL, HG_ERR_URI_TOO_LONG,
                    "the path is too long", declared_length(conn));
            config_release(ref);
            return send_error(conn, id, HG_ERR_URI_TOO_LONG, "the path is too long", NULL);
        }
        if (route(ref->config->path_prefix, url, &provider, &tenant) != 0) {
            account(s, ref->config, NULL, id, conn, method, url, NULL, HG_ERR_NOT_FOUND,
                    "no such path", declared_length(conn));
            config_release(ref);
            return send_error(conn, id, HG_ERR_NOT_FOUND, "no such path", NULL);
        }
        st = check_headers(ref->config, conn, method, provider, &why, &declared);
        if (st == HG_OK && atomic_load(&s->pending) >= ref->config->max_pending) {
            st = HG_ERR_OVERLOADED;
            why = "too many deliveries are waiting to be published; retry";
        }
        if (st != HG_OK) {
            account(s, ref->config, NULL, id, conn, method, url,
                    st == HG_ERR_NOT_FOUND ? NULL : provider, st, why, declared_length(conn));
            config_release(ref);
            free(provider);
            free(tenant);
            return send_error(conn, id, st, why, st == HG_ERR_METHOD ? "POST" : NULL);
        }
        r = request_get(conn);
        if (r == NULL) {
            config_release(ref);
            free(provider);
            free(tenant);
            return send_error(conn, id, HG_ERR_NOMEM, "out of memory", NULL);
        }
        r->config = ref;
        r->server = s;
        r->route_provider = provider;
        r->route_tenant = tenant;
        r->start_ms = monotonic_ms();
        memcpy(r->id, id, sizeof r->id);
        r->body.max = (size_t)ref->config->max_body; /* the buffer may be a spare one */
        /* one allocation for the declared body (larger ones were refused
         * above; a wrong length only means growing later) */
        if (declared > 0)
            hg_buf_reserve(&r->body, declared);
        atomic_fetch_add(&s->in_flight, 1);
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;

        *upload_data_size = 0;
        if (monotonic_ms() - r->start_ms > (double)r->config->config->request_timeout_s * 1000) {
            HG_LOG(HG_LOG_INFO, "request %s: body not complete within request_timeout: closing",
                   r->id);
            return MHD_NO;
        }
        if (!r->too_large && hg_buf_append(&r->body, upload_data, n) != 0) {
            /* over the cap: drop what was buffered and discard the rest */
            r->too_large = 1;
            r->discarded = r->body.len;
            hg_buf_free(&r->body);
        }
        if (r->too_large) {
            r->discarded += n;
            if (r->discarded / DISCARD_FACTOR > (size_t)r->config->config->max_body)
                return MHD_NO;
        }
        return MHD_YES;
    }
    if (r->publishing) {
        /* resumed: the publish is complete */
        publish_finished(r);
        return answer(r, conn, method, url, r->job.status);
    }
    return finish(r, conn, method, url);
}

/* The admin listener: operations endpoints only. */
static enum MHD_Result
handle_admin(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
             const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    struct gw_server *s = cls;

    (void)version;
    (void)upload_data;
    (void)con_cls;
    if (*upload_data_size > 0) {
        *upload_data_size = 0; /* no endpoint here takes a body */
        return MHD_YES;
    }
    if (strcmp(url, "/metrics") == 0)
        return serve_ops(s, conn, ROUTE_METRICS, method, url);
    if (strcmp(url, "/healthz") == 0)
        return serve_ops(s, conn, ROUTE_HEALTHZ, method, url);
    if (strcmp(url, "/readyz") == 0)
        return serve_ops(s, conn, ROUTE_READYZ, method, url);
    return send_error(conn, NULL, HG_ERR_NOT_FOUND, "no such path", NULL);
}

static void
completed(void *cls, struct MHD_Connection *conn, void **con_cls,
          enum MHD_RequestTerminationCode toe)
{
    struct gw_server *s = cls;
    struct request *r = *con_cls;

    (void)toe;
    if (r == NULL)
        return;
    if (r->publishing && !atomic_load(&r->published)) {
        /* Only a daemon stopped with connections still suspended gets here:
         * the publisher still holds the job, so the request is left to it
         * (leaked) rather than freed under it. */
        HG_LOG(HG_LOG_ERROR, "request %s: closed while its events were being published", r->id);
        *con_cls = NULL;
        atomic_fetch_sub(&s->in_flight, 1);
        return;
    }
    if (r->publishing) {
        /* Resumed, but the connection failed (the client went away) before
         * the handler could answer: the publish is complete all the same,
         * so it no longer counts as waiting. */
        publish_finished(r);
        HG_LOG(HG_LOG_INFO, "request %s: the connection closed before the answer (%s)", r->id,
               r->job.status == HG_OK ? "published" : hg_status_str(r->job.status));
    }
    request_put(conn, r);
    *con_cls = NULL;
    atomic_fetch_sub(&s->in_flight, 1);
}

/*
 * Past max_connections a new connection is closed at once. libmicrohttpd's
 * own limit stops calling accept() instead, which leaves connections waiting
 * in the kernel's backlog; its limit is therefore set a little higher, and
 * this is the one that refuses.
 */
static enum MHD_Result
accept_policy(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    struct gw_server *s = cls;

    (void)addr;
    (void)addrlen;
    if (atomic_load(&s->connections) >= s->max_connections) {
        HG_LOG(HG_LOG_DEBUG, "max_connections reached: refusing a connection");
        return MHD_NO;
    }
    return MHD_YES;
}

static void
connection_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                  enum MHD_ConnectionNotificationCode code)
{
    struct gw_server *s = cls;

    (void)conn;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        atomic_fetch_add(&s->connections, 1);
        *socket_context = calloc(1, sizeof(struct conn_cache)); /* NULL: no reuse */
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        struct conn_cache *cache = *socket_context;

        atomic_fetch_sub(&s->connections, 1);
        if (cache) {
            request_free(cache->spare);
            free(cache);
            *socket_context = NULL;
        }
    }
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t n;

    (void)cls;
    vsnprintf(msg, sizeof msg, fmt, ap);
    n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    HG_LOG(HG_LOG_DEBUG, "libmicrohttpd: %s", msg);
}

/* ------------------------------------------------------------------------ */
/* Listening socket                                                          */
/* ------------------------------------------------------------------------ */

static int
open_listener(const char *listen_spec, char **unix_path)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    int fd, one = 1;

    *unix_path = NULL;
    if (gw_listen_addr(listen_spec, 0, &ss, &sslen) != 0)
        return -1;
    if (ss.ss_family == AF_UNIX) {
        const char *path = ((struct sockaddr_un *)&ss)->sun_path;

        unlink(path); /* a stale socket from an earlier run */
        if ((*unix_path = strdup(path)) == NULL)
            return -1;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    if (ss.ss_family != AF_UNIX)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sslen) != 0 || listen(fd, 1024) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* ------------------------------------------------------------------------ */
/* Server                                                                    */
/* ------------------------------------------------------------------------ */

static void
server_free(struct gw_server *s)
{
    if (s->admin)
        MHD_stop_daemon(s->admin);
    if (s->admin_fd >= 0)
        close(s->admin_fd);
    if (s->admin_unix_path)
        unlink(s->admin_unix_path);
    free(s->admin_unix_path);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    config_release(s->current);
    pthread_mutex_destroy(&s->config_lock);
    free(s->unix_path);
    free(s);
}

struct gw_server *
gw_server_start(struct hg_config *config, struct hg_publisher *publisher)
{
    struct gw_server *s = calloc(1, sizeof *s);
    unsigned threads;
    long ncpu;

    if (s == NULL)
        return NULL;
    s->listen_fd = -1;
    s->admin_fd = -1;
    s->current = calloc(1, sizeof *s->current);
    if (s->current == NULL) {
        hg_config_free(config);
        free(s);
        return NULL;
    }
    s->current->config = config;
    atomic_init(&s->current->refs, 1);
    pthread_mutex_init(&s->config_lock, NULL);
    s->publisher = publisher;
    s->max_connections = (long)config->max_connections;
    s->id_salt = (unsigned long)hg_now_ms() * 2654435761UL ^ (unsigned long)getpid();
    s->listen_fd = open_listener(config->listen, &s->unix_path);
    if (s->listen_fd < 0) {
        HG_LOG(HG_LOG_ERROR, "cannot listen on %s: %s", config->listen, strerror(errno));
        server_free(s);
        return NULL;
    }
    ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    threads = config->threads > 0 ? (unsigned)config->threads : (unsigned)(ncpu > 0 ? ncpu : 1);
    /*
     * poll(), not epoll: with suspended and resumed connections, the epoll
     * loop of libmicrohttpd 0.9.75 (Debian 12) sometimes leaves a connection
     * that has work (a resumed one, or one with a request waiting in its
     * socket) unprocessed until some other event on that connection, which at
     * a quiet moment means until the client gives up. Measured in
     * docs/performance.md: 5 of 60 load runs with epoll, 0 of 42 with poll,
     * at the same throughput. poll() also rebuilds its set every round, so it
     * cannot miss an edge.
     */
    s->daemon = MHD_start_daemon(
        MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME,
        0, accept_policy, s, handle, s, MHD_OPTION_NOTIFY_CONNECTION, connection_notify, s,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s, MHD_OPTION_LISTEN_SOCKET, s->listen_fd,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)config->connection_timeout_s, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)config->max_connections + 64, MHD_OPTION_NOTIFY_COMPLETED, completed, s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)config->max_connections_per_ip,
        MHD_OPTION_END);
    if (s->daemon == NULL) {
        HG_LOG(HG_LOG_ERROR, "cannot start the HTTP server on %s", config->listen);
        server_free(s);
        return NULL;
    }
    HG_LOG(HG_LOG_INFO, "listening on %s with %u threads", config->listen, threads);
    if (config->admin_listen[0] != '\0') {
        s->admin_fd = open_listener(config->admin_listen, &s->admin_unix_path);
        if (s->admin_fd < 0) {
            HG_LOG(HG_LOG_ERROR, "cannot listen on %s (admin_listen): %s", config->admin_listen,
                   strerror(errno));
            gw_server_stop(s, 0);
            return NULL;
        }
        /* MHD closes a listen socket it was given unless quiesced: hand it over */
        s->admin = MHD_start_daemon(
            MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, handle_admin, s,
            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s, MHD_OPTION_LISTEN_SOCKET, s->admin_fd,
            MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_END);
        if (s->admin == NULL) {
            HG_LOG(HG_LOG_ERROR, "cannot start the admin listener on %s", config->admin_listen);
            gw_server_stop(s, 0);
            return NULL;
        }
        s->admin_fd = -1;
        HG_LOG(HG_LOG_INFO, "admin endpoints (/metrics, /healthz, /readyz) on %s",
               config->admin_listen);
    }
    return s;
}

void
gw_server_quiesce(struct gw_server *s, int64_t grace_ms)
{
    int64_t deadline;

    if (s == NULL)
        return;
    if (!s->quiesced) {
        /* Stop accepting, and close the socket (ours after quiescing), so new
         * connections are refused at once rather than left waiting. Requests
         * that start on kept-alive connections from now on are refused (see
         * handle()); those in progress finish. */
        atomic_store(&s->stopping, 1);
        MHD_quiesce_daemon(s->daemon);
        if (s->listen_fd >= 0) {
            close(s->listen_fd);
            s->listen_fd = -1;
        }
        s->quiesced = 1;
    }
    deadline = hg_now_ms() + grace_ms;
    while (atomic_load(&s->in_flight) > 0 && hg_now_ms() < deadline)
        usleep(10 * 1000);
}

void
gw_server_stop(struct gw_server *s, int64_t grace_ms)
{
    if (s == NULL)
        return;
    gw_server_quiesce(s, grace_ms);
    if (atomic_load(&s->in_flight) > 0)
        HG_LOG(HG_LOG_WARN, "stopping with %ld requests still in progress",
               (long)atomic_load(&s->in_flight));
    MHD_stop_daemon(s->daemon);
    s->daemon = NULL;
    if (s->unix_path)
        unlink(s->unix_path);
    server_free(s);
}

void
gw_server_reload(struct gw_server *s, struct hg_config *config)
{
    struct config_ref *ref = calloc(1, sizeof *ref), *old;

    if (ref == NULL) {
        HG_LOG(HG_LOG_ERROR, "reload: out of memory; keeping the current configuration");
        hg_config_free(config);
        return;
    }
    ref->config = config;
    atomic_init(&ref->refs, 1);
    pthread_mutex_lock(&s->config_lock);
    old = s->current;
    s->current = ref;
    pthread_mutex_unlock(&s->config_lock);
    config_release(old); /* freed when its last request completes */
}
