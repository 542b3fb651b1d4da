/*
 * addr.h - the socket address of a `listen` value.
 */
#ifndef GW_ADDR_H
#define GW_ADDR_H

#include <sys/socket.h>

/*
 * Fills `ss` for "host:port", "[v6]:port" or "unix:/path". With for_connect,
 * an any-address (0.0.0.0, [::]) becomes loopback, to reach a local listener.
 * Returns 0, or -1 with errno EINVAL.
 */
int gw_listen_addr(const char *spec, int for_connect, struct sockaddr_storage *ss, socklen_t *len);

#endif
