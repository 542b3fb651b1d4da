/*
 * registry.c - the list of providers. Adding a provider is one file in
 * providers/ and one line in each list below.
 */
#include <string.h>

#include "provider.h"

extern const struct hg_provider hg_provider_oneupvision;
extern const struct hg_provider hg_provider_trutac;

static const struct hg_provider *const providers[] = {
    &hg_provider_oneupvision,
    &hg_provider_trutac,
};

size_t
hg_provider_count(void)
{
    return sizeof providers / sizeof providers[0];
}

const struct hg_provider *
hg_provider_at(size_t index)
{
    return index < hg_provider_count() ? providers[index] : NULL;
}

int
hg_provider_index(const char *name, size_t len)
{
    for (size_t i = 0; i < hg_provider_count(); i++) {
        if (strlen(providers[i]->name) == len && memcmp(providers[i]->name, name, len) == 0)
            return (int)i;
    }
    return -1;
}

const char *
hg_provider_name(const struct hg_provider *provider)
{
    return provider ? provider->name : NULL;
}
