/*
 * ngx_state.c: libFuzzer target for torchserve_state's reader
 * (ngx_http_torchserve_module/ngx_http_torchserve_state.c).
 *
 * One input is a state file.  It is read as nginx's start reads it:
 * jansson with JSON_REJECT_DUPLICATES (json_load_file's flags), then
 * ngx_http_torchserve_state_restore_locked into a new zone (each model
 * checked by ngx_http_torchserve_state_record, then added through the
 * registry's record_add_locked), then the registry's init_zone once more
 * on that zone (its reload path), which syncs nginx.conf's models over
 * what the file restored, as a start does right after reading it.
 *
 * Checks: the zone's indexes agree and every name keeps a default; and
 * what was accepted round-trips: the snapshot a write would save
 * (ngx_http_torchserve_state_json_locked) is read back into another new
 * zone without refusal and gives the same snapshot again.
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include <jansson.h>

#include "ngx_harness.h"


/* nginx.conf's models: out of the zone while the file is restored */
static ngx_uint_t  ngx_state_conf_models;


static char *
ngx_state_restore(json_t *root, ngx_uint_t round)
{
    char        *text, err[256];
    json_t      *snapshot;
    ngx_int_t    rc;

    ngx_fuzz_tmcf->models.nelts = 0;
    ngx_fuzz_zone_reset();
    ngx_fuzz_tmcf->models.nelts = ngx_state_conf_models;

    ngx_shmtx_lock(&ngx_fuzz_tmcf->shpool->mutex);
    rc = ngx_http_torchserve_state_restore_locked(ngx_fuzz_log, ngx_fuzz_tmcf,
                                                  root, err, sizeof(err));
    ngx_shmtx_unlock(&ngx_fuzz_tmcf->shpool->mutex);

    if (rc != NGX_OK) {
        if (round > 0) {
            ngx_fuzz_fail("its own snapshot is refused (%s)",
                          rc == NGX_DECLINED ? err : "no memory");
        }

        return NULL;
    }

    ngx_fuzz_zone_check(0);

    ngx_shmtx_lock(&ngx_fuzz_tmcf->shpool->mutex);
    snapshot = ngx_http_torchserve_state_json_locked(ngx_fuzz_tmcf);
    ngx_shmtx_unlock(&ngx_fuzz_tmcf->shpool->mutex);

    if (snapshot == NULL) {
        ngx_fuzz_fail("no snapshot");
    }

    /* as ngx_http_torchserve_registry_save writes it */
    text = json_dumps(snapshot, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(snapshot);

    if (text == NULL) {
        ngx_fuzz_fail("the snapshot cannot be written");
    }

    return text;
}


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ngx_fuzz_init();

    ngx_state_conf_models = ngx_fuzz_tmcf->models.nelts;

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char          *first, *second;
    json_t        *root, *again;
    json_error_t   jerr;

    root = json_loadb((const char *) data, size, JSON_REJECT_DUPLICATES,
                      &jerr);
    if (root == NULL) {
        return 0;
    }

    first = ngx_state_restore(root, 0);
    json_decref(root);

    if (first == NULL) {
        return 0;
    }

    again = json_loads(first, JSON_REJECT_DUPLICATES, &jerr);
    if (again == NULL) {
        ngx_fuzz_fail("the snapshot is not JSON: %s", jerr.text);
    }

    second = ngx_state_restore(again, 1);
    json_decref(again);

    if (strcmp(first, second) != 0) {
        ngx_fuzz_fail("the snapshot changes when read back:\n%s\n----\n%s",
                      first, second);
    }

    free(first);
    free(second);

    /* the start goes on: nginx.conf's models over the file's */
    ngx_fuzz_zone_reload();
    ngx_fuzz_zone_check(1);

    return 0;
}
