/*
 * fuzz_manifest.c: libFuzzer target for MAR-INF/MANIFEST.json
 * (ts_manifest_parse, runtime/ts_manifest.c).
 *
 * One input is a manifest's bytes.  Checks: an accepted manifest names a
 * model (modelName, not empty), a refused one leaves every field NULL
 * and says why; ts_manifest_clear then frees all of it (LeakSanitizer).
 */

#include "ts_archive.h"

#include "fuzz_util.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char           err[512];
    ts_manifest_t  m, zero;

    err[0] = '\0';

    if (ts_manifest_parse((const char *) data, size, &m, err, sizeof(err))
        != 0)
    {
        memset(&zero, 0, sizeof(ts_manifest_t));
        FUZZ_CHECK(memcmp(&m, &zero, sizeof(ts_manifest_t)) == 0,
                   "a refused manifest keeps fields");
        FUZZ_CHECK(err[0] != '\0', "a refusal without a message");
        return 0;
    }

    FUZZ_CHECK(m.model_name != NULL && m.model_name[0] != '\0',
               "accepted without a modelName");

    ts_manifest_clear(&m);

    return 0;
}
