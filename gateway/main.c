/*
 * main.c - hookgate: command line, start-up, signals.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "hookgate.h"

#define DEFAULT_CONFIG "/etc/hookgate/hookgate.json"
#define SHUTDOWN_GRACE_MS 10000

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: hookgate [-c FILE] [--check-config]\n"
            "       hookgate --version | --help\n"
            "\n"
            "Receives provider webhooks, verifies them, and publishes them to Redis Streams.\n"
            "\n"
            "  -c, --config FILE   configuration file (default: $HOOKGATE_CONFIG, else %s)\n"
            "  -t, --check-config  validate the configuration, print \"configuration OK\", exit\n"
            "  -V, --version       print the version and exit\n"
            "  -h, --help          print this help and exit\n"
            "\n"
            "Signals: SIGTERM and SIGINT stop gracefully.\n",
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

static int
serve(struct hg_config *config)
{
    struct hg_publisher *publisher = NULL;
    struct gw_server *server = NULL;
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
    server = gw_server_start(config, publisher);
    if (server == NULL)
        goto out;
    HG_LOG(HG_LOG_INFO, "hookgate %s started", HG_VERSION);

    for (;;) {
        if (sigwait(&signals, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            HG_LOG(HG_LOG_WARN, "SIGHUP received: configuration reload is not supported yet; "
                                "restart to apply a new configuration");
            continue;
        }
        HG_LOG(HG_LOG_INFO, "%s received: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        break;
    }
    gw_server_stop(server, SHUTDOWN_GRACE_MS);
    server = NULL;
    rc = 0;
out:
    gw_server_stop(server, 0);
    hg_publisher_free(publisher);
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
    int check_only = 0, opt, rc;

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
    if (check_only) {
        hg_config_warnings(config, print_warning);
        printf("configuration OK\n");
        hg_config_free(config);
        return 0;
    }
    hg_log_min_level = config->log_level;
    rc = serve(config);
    hg_config_free(config);
    return rc;
}
