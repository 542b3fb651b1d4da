/*
 * http.h - the HTTP server (libmicrohttpd glue).
 */
#ifndef GW_HTTP_H
#define GW_HTTP_H

#include "hookgate.h"

struct gw_server;

/*
 * Binds config->listen and starts serving; both `config` and `publisher`
 * must outlive the server. Returns NULL (after logging why) on failure.
 */
struct gw_server *gw_server_start(const struct hg_config *config, struct hg_publisher *publisher);

/* Stops accepting, waits up to grace_ms for requests in progress, stops. */
void gw_server_stop(struct gw_server *server, int64_t grace_ms);

#endif
