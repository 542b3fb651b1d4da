/*
 * fuzz_detect.c - POST /webhooks: detection across the five providers, then
 * whichever verifier and normalizer it picks.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_request fr;
    struct hg_outcome *o;

    fuzz_request_init(&fr, data, size);
    o = hg_process(fuzz_config(), &fr.req);
    if (o == NULL)
        abort();
    hg_outcome_free(o);
    fuzz_request_free(&fr);
    return 0;
}
