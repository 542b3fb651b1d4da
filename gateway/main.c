/*
 * main.c - hookgate: command line, start-up, signals.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "http.h"
#include "hookgate.h"

#define DEFAULT_CONFIG "/etc/hookgate/hookgate.json"
#define SHUTDOWN_GRACE_MS 10000

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: hookgate [-c FILE] [--check-config]\n"
            "       hookgate healthcheck [-c FILE]\n"
            "       hookgate sign PROVIDER --secret S [--tenant T] [--event E] [--prefix P]\n"
            "                     [--header NAME | --basic] [--curl URL] < body.json\n"
            "       hookgate --version | --help\n"
            "\n"
            "Receives provider webhooks, verifies them, and publishes them to Redis Streams.\n"
            "\n"
            "  -c, --config FILE   configuration file (default: $HOOKGATE_CONFIG, else %s)\n"
            "  -t, --check-config  validate the configuration, print \"configuration OK\", exit\n"
            "  -V, --version       print the version and exit\n"
            "  -h, --help          print this help and exit\n"
            "\n"
            "  healthcheck         exit 0 when GET /healthz on the configured address answers 200\n"
            "  sign                print a signed request for a provider (hookgate sign --help)\n"
            "\n"
            "Signals: SIGTERM and SIGINT stop gracefully; SIGHUP reloads the configuration.\n",
            DEFAULT_CONFIG);
}

static void
log_warning(const char *message)
{
    HG_LOG(HG_LOG_WARN, "%s", message);
}

static void
print_warning(const char *message)
{
    fprintf(stderr, "hookgate: warning: %s\n", message);
}

/*
 * Settings that belong to the listener, the publisher or the spool and so
 * take effect only at the next start: a reload that changes one says so.
 */
static void
warn_restart_only(const struct hg_config *old, const struct hg_config *cur)
{
    static const char *const fmt = "reload: %s changed; it takes effect at the next restart";

    if (strcmp(old->listen, cur->listen) != 0)
        HG_LOG(HG_LOG_WARN, fmt, "listen");
    if (old->threads != cur->threads)
        HG_LOG(HG_LOG_WARN, fmt, "threads");
    if (old->connection_timeout_s != cur->connection_timeout_s)
        HG_LOG(HG_LOG_WARN, fmt, "connection_timeout");
    if (old->max_connections != cur->max_connections)
        HG_LOG(HG_LOG_WARN, fmt, "max_connections");
    if (old->max_connections_per_ip != cur->max_connections_per_ip)
        HG_LOG(HG_LOG_WARN, fmt, "max_connections_per_ip");
    if (strcmp(old->admin_listen, cur->admin_listen) != 0)
        HG_LOG(HG_LOG_WARN, fmt, "admin_listen");
    if (old->redis.rejected_maxlen != cur->redis.rejected_maxlen)
        HG_LOG(HG_LOG_WARN, fmt, "redis.rejected_maxlen");
    if (old->redis.rejected_per_second != cur->redis.rejected_per_second)
        HG_LOG(HG_LOG_WARN, fmt, "redis.rejected_per_second");
    if (strcmp(old->redis.prefix, cur->redis.prefix) != 0)
        HG_LOG(HG_LOG_WARN, "reload: redis.prefix changed: events go to the new streams now; the "
                            "rejected stream keeps its name until the next restart");
    if (strcmp(old->redis.url, cur->redis.url) != 0)
        HG_LOG(HG_LOG_WARN, fmt, "redis.url");
    if (old->redis.timeout_ms != cur->redis.timeout_ms)
        HG_LOG(HG_LOG_WARN, fmt, "redis.timeout_ms");
    if (old->redis.wait_replicas != cur->redis.wait_replicas)
        HG_LOG(HG_LOG_WARN, fmt, "redis.wait_replicas");
    if (old->redis.dedup_ttl_s != cur->redis.dedup_ttl_s)
        HG_LOG(HG_LOG_WARN, fmt, "redis.dedup_ttl");
    if (old->redis.maxlen != cur->redis.maxlen)
        HG_LOG(HG_LOG_WARN, fmt, "redis.maxlen");
    if (strcmp(old->spool.dir, cur->spool.dir) != 0)
        HG_LOG(HG_LOG_WARN, fmt, "spool.dir");
    if (old->spool.max_bytes != cur->spool.max_bytes)
        HG_LOG(HG_LOG_WARN, fmt, "spool.max_bytes");
}

/* The start-up values of what a reload cannot change (strings copied). */
static int
snapshot_take(const struct hg_config *c, struct hg_config *out)
{
    *out = *c;
    out->file = out->path_prefix = NULL;
    out->providers = NULL;
    out->trusted_proxies.items = NULL;
    out->listen = strdup(c->listen);
    out->admin_listen = strdup(c->admin_listen);
    out->redis.prefix = strdup(c->redis.prefix);
    out->redis.url = strdup(c->redis.url);
    out->spool.dir = strdup(c->spool.dir);
    return out->listen && out->admin_listen && out->redis.prefix && out->redis.url && out->spool.dir
               ? 0
               : -1;
}

static void
snapshot_free(struct hg_config *snap)
{
    free(snap->listen);
    free(snap->admin_listen);
    free(snap->redis.prefix);
    if (snap->redis.url)
        memset(snap->redis.url, 0, strlen(snap->redis.url)); /* may hold a password */
    free(snap->redis.url);
    free(snap->spool.dir);
}

static int
serve(const char *path, struct hg_config *config)
{
    struct hg_publisher *publisher = NULL;
    struct gw_server *server = NULL;
    struct hg_config started = {0};
    sigset_t signals;
    char err[1024];
    int sig, rc = 1;

    /* Block the signals in every thread; this one takes them with sigwait. */
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    hg_config_warnings(config, log_warning);
    if (hg_publisher_new(&config->redis, &config->spool, &publisher, err, sizeof err) != HG_OK) {
        HG_LOG(HG_LOG_ERROR, "%s: %s", config->file, err);
        goto out;
    }
    /* The start-up values stay in force for what cannot change on reload. */
    if (snapshot_take(config, &started) != 0) {
        HG_LOG(HG_LOG_ERROR, "out of memory");
        goto out;
    }
    server = gw_server_start(config, publisher); /* owns config from here */
    config = NULL;
    if (server == NULL)
        goto out;
    HG_LOG(HG_LOG_INFO, "hookgate %s started", HG_VERSION);

    for (;;) {
        struct hg_config *fresh = NULL;

        if (sigwait(&signals, &sig) != 0)
            continue;
        if (sig != SIGHUP)
            break;
        if (hg_config_load(path, &fresh, err, sizeof err) != HG_OK) {
            HG_LOG(HG_LOG_ERROR, "reload refused, the current configuration stays: %s", err);
            continue;
        }
        warn_restart_only(&started, fresh);
        hg_config_warnings(fresh, log_warning);
        hg_log_min_level = fresh->log_level;
        gw_server_reload(server, fresh);
        HG_LOG(HG_LOG_INFO, "configuration reloaded from %s", path);
    }
    HG_LOG(HG_LOG_INFO, "%s received: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    /* Stop accepting and let requests in progress finish; then complete
     * every queued publish (which resumes every suspended connection) before
     * the HTTP server goes away. */
    gw_server_quiesce(server, SHUTDOWN_GRACE_MS);
    hg_publisher_stop(publisher);
    gw_server_stop(server, 2000);
    server = NULL;
    rc = 0;
out:
    hg_publisher_stop(publisher);
    gw_server_stop(server, 0);
    hg_publisher_free(publisher);
    snapshot_free(&started);
    hg_config_free(config);
    if (rc == 0)
        HG_LOG(HG_LOG_INFO, "stopped");
    return rc;
}

int
main(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", no_argument, NULL, 't'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL;
    struct hg_config *config = NULL;
    char err[1024];
    int check_only = 0, healthcheck = 0, opt;

    if (argc > 1 && strcmp(argv[1], "sign") == 0)
        return gw_sign_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "healthcheck") == 0) {
        healthcheck = 1;
        argc--;
        argv++;
    }

    while ((opt = getopt_long(argc, argv, "c:tVh", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 't':
            check_only = 1;
            break;
        case 'V':
            printf("hookgate %s\n", HG_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "hookgate: unexpected argument: %s\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (path == NULL)
        path = getenv("HOOKGATE_CONFIG");
    if (path == NULL || *path == '\0')
        path = DEFAULT_CONFIG;

    if (hg_config_load(path, &config, err, sizeof err) != HG_OK) {
        if (check_only)
            fprintf(stderr, "hookgate: %s\n", err);
        else
            HG_LOG(HG_LOG_ERROR, "%s", err);
        return 1;
    }
    if (healthcheck) {
        int rc = gw_healthcheck(config);

        hg_config_free(config);
        return rc;
    }
    if (check_only) {
        hg_config_warnings(config, print_warning);
        printf("configuration OK\n");
        hg_config_free(config);
        return 0;
    }
    hg_log_min_level = config->log_level;
    return serve(path, config);
}
