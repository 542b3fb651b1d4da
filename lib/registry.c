/*
 * registry.c - the list of providers. Adding a provider is one file in
 * providers/ and one line in each list below.
 */
#include <string.h>

#include "provider.h"

extern const struct hg_provider hg_provider_teamgo;
extern const struct hg_provider hg_provider_inline;
extern const struct hg_provider hg_provider_ombori;
extern const struct hg_provider hg_provider_trutac;
extern const struct hg_provider hg_provider_oneupvision;

static const struct hg_provider *const providers[] = {
    &hg_provider_teamgo, &hg_provider_inline,      &hg_provider_ombori,
    &hg_provider_trutac, &hg_provider_oneupvision,
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

int
hg_provider_path_segment_is_secret(const char *name)
{
    int i = hg_provider_index(name, strlen(name));

    return i >= 0 && providers[i]->path_segment_is_secret;
}

const char *
hg_provider_name(const struct hg_provider *provider)
{
    return provider ? provider->name : NULL;
}
