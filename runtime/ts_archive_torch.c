/*
 * ts_archive_torch.c: can the archive be served without Python?  Its
 * serializedFile must be TorchScript, which is told from a torch.save
 * state_dict (an eager-mode model) by the entries of the file itself.
 */

#include <stdio.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "ts_archive_int.h"


typedef enum {
    TS_ARCHIVE_TORCHSCRIPT = 0,
    TS_ARCHIVE_STATE_DICT,
    TS_ARCHIVE_UNKNOWN
} ts_archive_torch_kind_e;


static ts_archive_torch_kind_e ts_archive_sniff_torch(
    const ts_archive_file_t *file, char *why, size_t whylen);


int
ts_archive_check_torchscript(const ts_archive_t *a, char *err, size_t errlen)
{
    char                      why[256];
    const char               *path, *model, *serialized;
    const ts_archive_file_t  *file;

    path = a->path ? a->path : "";
    model = a->manifest.model_name ? a->manifest.model_name : "";
    serialized = a->manifest.serialized_file;

    if (a->manifest.model_file != NULL) {
        snprintf(err, errlen,
                 "model \"%s\" in \"%s\" is an eager-mode model "
                 "(modelFile %s%s%s): only TorchScript models can be "
                 "served; convert it with archive_tool --export-torchscript "
                 "(torch.jit.script or torch.jit.trace)",
                 model, path, a->manifest.model_file,
                 serialized ? " with a state_dict in " : "",
                 serialized ? serialized : "");
        return -1;
    }

    if (serialized == NULL) {
        snprintf(err, errlen,
                 "model \"%s\" in \"%s\" has no serializedFile: only "
                 "TorchScript models can be served", model, path);
        return -1;
    }

    file = ts_archive_find(a, serialized);
    if (file == NULL) {
        snprintf(err, errlen,
                 "model \"%s\" in \"%s\": serializedFile \"%s\" is not in "
                 "the archive", model, path, serialized);
        return -1;
    }

    if (file->data == NULL) {
        /* opened without data (nginx -t): the manifest is all we have */
        return 0;
    }

    switch (ts_archive_sniff_torch(file, why, sizeof(why))) {

    case TS_ARCHIVE_TORCHSCRIPT:
        return 0;

    case TS_ARCHIVE_STATE_DICT:
        snprintf(err, errlen,
                 "model \"%s\" in \"%s\" is an eager-mode model "
                 "(a state_dict in %s, no TorchScript code): only "
                 "TorchScript models can be served; convert it with "
                 "archive_tool --export-torchscript "
                 "(torch.jit.script or torch.jit.trace)",
                 model, path, serialized);
        return -1;

    default:
        snprintf(err, errlen,
                 "model \"%s\" in \"%s\": serializedFile \"%s\" is not a "
                 "TorchScript file (%s)", model, path, serialized, why);
        return -1;
    }
}


/*
 * TorchScript files and torch.save files are both zips with every entry
 * under one top folder; only TorchScript has "code/" and "constants.pkl".
 */

static ts_archive_torch_kind_e
ts_archive_sniff_torch(const ts_archive_file_t *file, char *why,
    size_t whylen)
{
    int                       rc, has_data_pkl;
    const char               *name, *rest;
    struct archive           *ar;
    struct archive_entry     *entry;
    ts_archive_torch_kind_e   kind;

    if (file->size < 4 || memcmp(file->data, "PK\003\004", 4) != 0) {
        snprintf(why, whylen, "not a zip archive");
        return TS_ARCHIVE_UNKNOWN;
    }

    ar = archive_read_new();
    if (ar == NULL) {
        snprintf(why, whylen, "out of memory");
        return TS_ARCHIVE_UNKNOWN;
    }

    kind = TS_ARCHIVE_UNKNOWN;
    has_data_pkl = 0;
    snprintf(why, whylen, "no code/ or constants.pkl in it");

    archive_read_support_format_zip(ar);

    if (archive_read_open_memory(ar, file->data, file->size) != ARCHIVE_OK) {
        snprintf(why, whylen, "%s", archive_error_string(ar));
        goto done;
    }

    for ( ;; ) {
        rc = archive_read_next_header(ar, &entry);

        if (rc == ARCHIVE_EOF) {
            break;
        }

        if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
            snprintf(why, whylen, "%s", archive_error_string(ar));
            goto done;
        }

        name = archive_entry_pathname(entry);
        if (name == NULL) {
            continue;
        }

        rest = strchr(name, '/');
        if (rest == NULL) {
            continue;
        }

        rest++;

        if (strncmp(rest, "code/", 5) == 0
            || strcmp(rest, "constants.pkl") == 0)
        {
            kind = TS_ARCHIVE_TORCHSCRIPT;
            goto done;
        }

        if (strcmp(rest, "data.pkl") == 0) {
            has_data_pkl = 1;
        }
    }

    if (has_data_pkl) {
        kind = TS_ARCHIVE_STATE_DICT;
    }

done:

    archive_read_free(ar);

    return kind;
}
