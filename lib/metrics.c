/*
 * metrics.c - process-wide counters, rendered in the Prometheus text format.
 *
 * Counters are lock-free atomics indexed by small fixed tables (providers,
 * HTTP statuses, library statuses, latency buckets), so recording costs a few
 * relaxed increments on the request path.
 */
#include <stdatomic.h>
#include <string.h>

#include "buf.h"
#include "hookgate.h"

#define PROVIDERS_MAX 16 /* registry size bound; index PROVIDERS_MAX = unknown */

static const int http_codes[] = {200, 400, 401, 403, 404, 405, 413, 414, 415, 431, 500, 503};
#define NCODES (sizeof http_codes / sizeof http_codes[0])

static const double latency_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                         0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define NBUCKETS (sizeof latency_buckets / sizeof latency_buckets[0])

static atomic_ulong requests[PROVIDERS_MAX + 1][NCODES + 1]; /* last column: other codes */
static atomic_ulong outcomes[HG_STATUS_COUNT];
static atomic_ulong published[PROVIDERS_MAX + 1];
static atomic_ulong latency_hist[NBUCKETS + 1];
static atomic_ulong latency_count;
static atomic_ulong latency_sum_us;
static atomic_ulong rejected_recorded;
static atomic_ulong rejected_dropped;

static size_t
provider_slot(const char *provider)
{
    int i = provider ? hg_provider_index(provider, strlen(provider)) : -1;

    return i >= 0 && i < PROVIDERS_MAX ? (size_t)i : PROVIDERS_MAX;
}

void
hg_metrics_request(const char *provider, enum hg_status status)
{
    int http = hg_status_http(status);
    size_t c = NCODES;

    for (size_t i = 0; i < NCODES; i++)
        if (http_codes[i] == http)
            c = i;
    atomic_fetch_add_explicit(&requests[provider_slot(provider)][c], 1, memory_order_relaxed);
    if ((unsigned)status < HG_STATUS_COUNT)
        atomic_fetch_add_explicit(&outcomes[status], 1, memory_order_relaxed);
}

void
hg_metrics_publish(const char *provider, double seconds, size_t events_added)
{
    size_t b = NBUCKETS;

    for (size_t i = 0; i < NBUCKETS; i++) {
        if (seconds <= latency_buckets[i]) {
            b = i;
            break;
        }
    }
    atomic_fetch_add_explicit(&latency_hist[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&latency_count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&latency_sum_us, (unsigned long)(seconds * 1e6),
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&published[provider_slot(provider)], events_added,
                              memory_order_relaxed);
}

void
hg_metrics_rejection(int recorded)
{
    atomic_fetch_add_explicit(recorded ? &rejected_recorded : &rejected_dropped, 1,
                              memory_order_relaxed);
}

static unsigned long
get(atomic_ulong *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

static const char *
slot_name(size_t slot)
{
    return slot < hg_provider_count() ? hg_provider_name(hg_provider_at(slot)) : "none";
}

static void
header(struct hg_buf *b, const char *name, const char *type, const char *help)
{
    hg_buf_appendf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int
hg_metrics_render(struct hg_buf *b, const struct hg_publisher_state *ps, int64_t now_ms)
{
    header(b, "hookgate_requests_total", "counter",
           "Webhook requests answered, by provider (none: not attributed) and HTTP status.");
    for (size_t p = 0; p <= PROVIDERS_MAX; p++) {
        if (p >= hg_provider_count() && p != PROVIDERS_MAX)
            continue;
        for (size_t c = 0; c < NCODES; c++) {
            unsigned long v = get(&requests[p][c]);

            /* every provider's 200 is always present, so rates start at zero */
            if (v || (c == 0 && p < hg_provider_count()))
                hg_buf_appendf(b, "hookgate_requests_total{provider=\"%s\",status=\"%d\"} %lu\n",
                               slot_name(p), http_codes[c], v);
        }
        if (get(&requests[p][NCODES]))
            hg_buf_appendf(b, "hookgate_requests_total{provider=\"%s\",status=\"other\"} %lu\n",
                           slot_name(p), get(&requests[p][NCODES]));
    }

    header(b, "hookgate_rejections_total", "counter", "Refused deliveries, by reason.");
    for (int st = 0; st < HG_STATUS_COUNT; st++) {
        if (hg_status_http((enum hg_status)st) < 400 || st == HG_ERR_CONFIG)
            continue;
        hg_buf_appendf(b, "hookgate_rejections_total{reason=\"%s\"} %lu\n",
                       hg_status_str((enum hg_status)st), get(&outcomes[st]));
    }

    header(b, "hookgate_duplicates_total", "counter",
           "Deliveries whose events were all published before (answered 200 duplicate).");
    hg_buf_appendf(b, "hookgate_duplicates_total %lu\n", get(&outcomes[HG_DUPLICATE]));
    header(b, "hookgate_spooled_total", "counter",
           "Deliveries written to the local spool because Redis could not take them.");
    hg_buf_appendf(b, "hookgate_spooled_total %lu\n", get(&outcomes[HG_SPOOLED]));
    header(b, "hookgate_pings_total", "counter", "Provider pings answered (TruTac).");
    hg_buf_appendf(b, "hookgate_pings_total %lu\n", get(&outcomes[HG_PING]));

    header(b, "hookgate_events_published_total", "counter",
           "Events added to Redis streams by deliveries, by provider.");
    for (size_t p = 0; p < hg_provider_count() && p < PROVIDERS_MAX; p++)
        hg_buf_appendf(b, "hookgate_events_published_total{provider=\"%s\"} %lu\n", slot_name(p),
                       get(&published[p]));

    header(b, "hookgate_publish_duration_seconds", "histogram",
           "Time from handing a delivery's events to the publisher to their confirmation "
           "(Redis or spool).");
    unsigned long cumulative = 0;
    for (size_t i = 0; i < NBUCKETS; i++) {
        cumulative += get(&latency_hist[i]);
        hg_buf_appendf(b, "hookgate_publish_duration_seconds_bucket{le=\"%g\"} %lu\n",
                       latency_buckets[i], cumulative);
    }
    cumulative += get(&latency_hist[NBUCKETS]);
    hg_buf_appendf(b, "hookgate_publish_duration_seconds_bucket{le=\"+Inf\"} %lu\n", cumulative);
    hg_buf_appendf(b, "hookgate_publish_duration_seconds_sum %.6f\n",
                   (double)get(&latency_sum_us) / 1e6);
    hg_buf_appendf(b, "hookgate_publish_duration_seconds_count %lu\n", get(&latency_count));

    header(b, "hookgate_spool_bytes", "gauge", "Bytes in the spool waiting to be drained.");
    hg_buf_appendf(b, "hookgate_spool_bytes %lld\n", (long long)ps->spool_bytes);
    header(b, "hookgate_spool_events", "gauge", "Deliveries in the spool waiting to be drained.");
    hg_buf_appendf(b, "hookgate_spool_events %lld\n", (long long)ps->spool_records);
    header(b, "hookgate_spool_oldest_age_seconds", "gauge",
           "Age of the oldest delivery waiting in the spool (0 when empty).");
    hg_buf_appendf(b, "hookgate_spool_oldest_age_seconds %.3f\n",
                   ps->spool_oldest_ms > 0 && now_ms > ps->spool_oldest_ms
                       ? (double)(now_ms - ps->spool_oldest_ms) / 1000.0
                       : 0.0);
    header(b, "hookgate_spool_writable", "gauge", "1 when the spool can take deliveries.");
    hg_buf_appendf(b, "hookgate_spool_writable %d\n", ps->spool_enabled && ps->spool_writable);
    header(b, "hookgate_redis_up", "gauge", "1 when the last contact with Redis succeeded.");
    hg_buf_appendf(b, "hookgate_redis_up %d\n", ps->redis_up ? 1 : 0);

    header(b, "hookgate_rejected_records_total", "counter",
           "Refusals recorded in the rejected stream, and dropped by its rate limit.");
    hg_buf_appendf(b, "hookgate_rejected_records_total{result=\"recorded\"} %lu\n",
                   get(&rejected_recorded));
    hg_buf_appendf(b, "hookgate_rejected_records_total{result=\"dropped\"} %lu\n",
                   get(&rejected_dropped));

    header(b, "hookgate_build_info", "gauge", "Build information.");
    hg_buf_appendf(b, "hookgate_build_info{version=\"%s\"} 1\n", HG_VERSION);
    return b->failed ? -1 : 0;
}
