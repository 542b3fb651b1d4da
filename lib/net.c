/*
 * net.c - addresses: CIDR matching and the client address behind trusted
 * proxies.
 */
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "provider.h"

/* Parses a textual IPv4 or IPv6 address; IPv4-mapped IPv6 becomes IPv4. */
static int
parse_addr(const char *text, size_t len, int *family, unsigned char addr[16])
{
    char buf[INET6_ADDRSTRLEN + 1];

    while (len && (*text == ' ' || *text == '\t'))
        text++, len--;
    while (len && (text[len - 1] == ' ' || text[len - 1] == '\t'))
        len--;
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, text, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET, buf, addr) == 1) {
        *family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, buf, addr) != 1)
        return -1;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(addr, mapped, 12) == 0) {
        memmove(addr, addr + 12, 4);
        *family = AF_INET;
        return 0;
    }
    *family = AF_INET6;
    return 0;
}

static int
cidr_contains(const struct hg_cidr *c, int family, const unsigned char *addr)
{
    unsigned full = c->prefix_len / 8, rest = c->prefix_len % 8;

    if (c->family != family)
        return 0;
    if (memcmp(c->addr, addr, full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    unsigned char mask = (unsigned char)(0xFF << (8 - rest));
    return (c->addr[full] & mask) == (addr[full] & mask);
}

static int
list_contains(const struct hg_cidr_list *list, int family, const unsigned char *addr)
{
    for (size_t i = 0; i < list->count; i++)
        if (cidr_contains(&list->items[i], family, addr))
            return 1;
    return 0;
}

int
hg_cidr_list_match(const struct hg_cidr_list *list, const char *addr_text)
{
    unsigned char addr[16];
    int family;

    if (addr_text == NULL || parse_addr(addr_text, strlen(addr_text), &family, addr) != 0)
        return 0;
    return list_contains(list, family, addr);
}

int
hg_client_addr(const struct hg_config *config, const struct hg_request *req, char *out,
               size_t out_size)
{
    unsigned char addr[16];
    int family;

    if (req->client_addr == NULL ||
        parse_addr(req->client_addr, strlen(req->client_addr), &family, addr) != 0)
        return -1;
    if (list_contains(&config->trusted_proxies, family, addr)) {
        /* X-Forwarded-For lists the hops left to right, the nearest last;
         * several headers are one list in order. Walk from the nearest hop
         * back, skipping our own proxies: the first other address is the
         * client. */
        const char *hops[32];
        size_t hop_lens[32], n = 0;

        for (size_t i = 0; i < req->header_count; i++) {
            const char *v = req->headers[i].value;

            if (strcasecmp(req->headers[i].name, "X-Forwarded-For") != 0)
                continue;
            while (*v && n < 32) {
                size_t len = strcspn(v, ",");

                hops[n] = v;
                hop_lens[n++] = len;
                v += len;
                if (*v == ',')
                    v++;
            }
        }
        for (size_t k = n; k-- > 0;) {
            unsigned char hop[16];
            int hop_family;

            if (parse_addr(hops[k], hop_lens[k], &hop_family, hop) != 0)
                return -1; /* a hop we cannot read: no client address */
            family = hop_family;
            memcpy(addr, hop, 16);
            if (!list_contains(&config->trusted_proxies, family, addr))
                break;
        }
    }
    if (inet_ntop(family, addr, out, (socklen_t)out_size) == NULL)
        return -1;
    return 0;
}
