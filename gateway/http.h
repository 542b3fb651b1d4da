/*
 * http.h - the HTTP server (libmicrohttpd glue).
 */
#ifndef GW_HTTP_H
#define GW_HTTP_H

#include "hookgate.h"

struct gw_server;

/*
 * Binds config->listen and starts serving. The server owns `config` from
 * here on (also when it fails); `publisher` must outlive it. Returns NULL
 * (after logging why) on failure.
 */
struct gw_server *gw_server_start(struct hg_config *config, struct hg_publisher *publisher);

/*
 * Makes `config` (owned from here on) the one new requests use. Requests in
 * progress finish under the configuration they started with, which is freed
 * when the last of them completes. Listener settings are not re-applied.
 */
void gw_server_reload(struct gw_server *server, struct hg_config *config);

/* Stops accepting and waits up to grace_ms for the requests in progress. */
void gw_server_quiesce(struct gw_server *server, int64_t grace_ms);

/*
 * Stops accepting, waits up to grace_ms for requests in progress, stops.
 * Every suspended connection must have been resumed by then: stop the
 * publisher first (hg_publisher_stop completes every job).
 */
void gw_server_stop(struct gw_server *server, int64_t grace_ms);

#endif
