/*
 * cli.h - the subcommands of the hookgate binary.
 */
#ifndef GW_CLI_H
#define GW_CLI_H

#include "hookgate.h"

/* `hookgate healthcheck`: 0 when GET /healthz on config->listen answers 200. */
int gw_healthcheck(const struct hg_config *config);

#endif
