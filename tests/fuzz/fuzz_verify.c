/*
 * fuzz_verify.c - each provider's verifier on its explicit route. The first
 * byte picks the provider (and whether the path carries a tenant or token).
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const tenants[] = {NULL, "t1", "u-1", "tok", "nope"};
    struct fuzz_request fr;
    struct hg_outcome *o;

    if (size < 1)
        return 0;
    fuzz_request_init(&fr, data + 1, size - 1);
    fr.req.route_provider = hg_provider_name(hg_provider_at(data[0] % hg_provider_count()));
    fr.req.route_tenant = tenants[(data[0] / 8) % 5];
    o = hg_process(fuzz_config(), &fr.req);
    if (o == NULL)
        abort();
    hg_outcome_free(o);
    fuzz_request_free(&fr);
    return 0;
}
