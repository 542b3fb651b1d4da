/*
 * fuzz_config.c - the configuration loader on arbitrary text. Secrets that
 * are env: or file: references resolve to whatever the fuzzing host has, or
 * fail; both paths must be clean.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hg_config *config = NULL;
    char err[1024];

    if (hg_config_parse("fuzz.json", (const char *)data, size, &config, err, sizeof err) ==
        HG_OK) {
        if (config == NULL)
            abort();
        hg_config_free(config);
    } else if (config != NULL || err[0] == '\0') {
        abort(); /* a refusal leaves nothing behind and always says why */
    }
    return 0;
}
