/*
 * cli.h - the subcommands of the hookgate binary.
 */
#ifndef GW_CLI_H
#define GW_CLI_H

#include "hookgate.h"

/* `hookgate healthcheck`: 0 when GET /healthz on config->listen answers 200. */
int gw_healthcheck(const struct hg_config *config);

/* `hookgate sign PROVIDER …`: argv[0] is "sign". Returns the exit status. */
int gw_sign_main(int argc, char **argv);

#endif
