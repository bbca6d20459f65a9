/*
 * ts_archive_torch.c: can the archive be served without Python?  Its
 * serializedFile must be TorchScript, which is told from a torch.save
 * state_dict (an eager-mode model) by the entries of the file itself.
 * One sniffer reads them, streamed, from either source: the file's data
 * when it is in memory, or a second pass over the archive when it was
 * opened without data (ts_archive_sniff_path).
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "ts_archive_int.h"


/* the sniffer's side of a source: the first block is read for the magic */
typedef struct {
    ts_archive_read_pt   read;
    void                *data;
    const void          *first;     /* read, not yet given to libarchive */
    ssize_t              nfirst;
    int                  failed;    /* the source failed, not the zip */
} ts_archive_sniff_src_t;


/* a serialized file in memory: one block */
typedef struct {
    const unsigned char  *data;
    size_t                size;
    int                   given;
} ts_archive_memory_t;


static const ts_archive_file_t *ts_archive_check_manifest(
    const ts_archive_t *a, char *err, size_t errlen);
static int ts_archive_check_kind(const ts_archive_t *a,
    const ts_archive_sniff_t *sniff, char *err, size_t errlen);
static ssize_t ts_archive_memory_read(void *data, const void **block);
static la_ssize_t ts_archive_sniff_read(struct archive *ar, void *data,
    const void **block);
static ts_archive_torch_kind_e ts_archive_sniff_entries(struct archive *ar,
    ts_archive_sniff_src_t *src, char *why, size_t whylen);


int
ts_archive_check_torchscript(const ts_archive_t *a, char *err, size_t errlen)
{
    ts_archive_sniff_t        sniff;
    ts_archive_memory_t       memory;
    const ts_archive_file_t  *file;

    file = ts_archive_check_manifest(a, err, errlen);
    if (file == NULL) {
        return -1;
    }

    memset(&sniff, 0, sizeof(ts_archive_sniff_t));
    sniff.name = file->name;

    if (file->data != NULL) {
        memory.data = file->data;
        memory.size = file->size;
        memory.given = 0;

        sniff.kind = ts_archive_sniff_torch(ts_archive_memory_read, &memory,
                                            sniff.why, sizeof(sniff.why));

    } else if (ts_archive_sniff_path(a, &sniff, err, errlen) != 0) {
        return -1;
    }

    return ts_archive_check_kind(a, &sniff, err, errlen);
}


/* what the manifest alone says; the serialized file, or NULL (refused) */

static const ts_archive_file_t *
ts_archive_check_manifest(const ts_archive_t *a, char *err, size_t errlen)
{
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
        return NULL;
    }

    if (serialized == NULL) {
        snprintf(err, errlen,
                 "model \"%s\" in \"%s\" has no serializedFile: only "
                 "TorchScript models can be served", model, path);
        return NULL;
    }

    file = ts_archive_find(a, serialized);
    if (file == NULL) {
        snprintf(err, errlen,
                 "model \"%s\" in \"%s\": serializedFile \"%s\" is not in "
                 "the archive", model, path, serialized);
        return NULL;
    }

    return file;
}


static int
ts_archive_check_kind(const ts_archive_t *a, const ts_archive_sniff_t *sniff,
    char *err, size_t errlen)
{
    const char  *path, *model;

    path = a->path ? a->path : "";
    model = a->manifest.model_name ? a->manifest.model_name : "";

    switch (sniff->kind) {

    case TS_ARCHIVE_TORCHSCRIPT:
        return 0;

    case TS_ARCHIVE_STATE_DICT:
        snprintf(err, errlen,
                 "model \"%s\" in \"%s\" is an eager-mode model "
                 "(a state_dict in %s, no TorchScript code): only "
                 "TorchScript models can be served; convert it with "
                 "archive_tool --export-torchscript "
                 "(torch.jit.script or torch.jit.trace)",
                 model, path, sniff->name);
        return -1;

    default:
        snprintf(err, errlen,
                 "model \"%s\" in \"%s\": serializedFile \"%s\" is not a "
                 "TorchScript file (%s)", model, path, sniff->name,
                 sniff->why);
        return -1;
    }
}


static ssize_t
ts_archive_memory_read(void *data, const void **block)
{
    ts_archive_memory_t  *memory = data;

    if (memory->given) {
        return 0;
    }

    memory->given = 1;
    *block = memory->data;

    return (ssize_t) memory->size;
}


/*
 * TorchScript files and torch.save files are both zips with every entry
 * under one top folder; only TorchScript has "code/" and "constants.pkl".
 * Read as a stream (zip_streamable, local headers in order), it needs no
 * seeking, so a file read from inside an archive needs no copy.
 */

ts_archive_torch_kind_e
ts_archive_sniff_torch(ts_archive_read_pt read, void *data, char *why,
    size_t whylen)
{
    struct archive           *ar;
    ts_archive_sniff_src_t    src;
    ts_archive_torch_kind_e   kind;

    src.read = read;
    src.data = data;
    src.failed = 0;

    src.nfirst = read(data, &src.first);

    if (src.nfirst < 0) {
        return TS_ARCHIVE_SNIFF_FAILED;
    }

    if (src.nfirst < 4 || memcmp(src.first, "PK\003\004", 4) != 0) {
        snprintf(why, whylen, "not a zip archive");
        return TS_ARCHIVE_NOT_TORCHSCRIPT;
    }

    ar = archive_read_new();
    if (ar == NULL) {
        snprintf(why, whylen, "out of memory");
        return TS_ARCHIVE_NOT_TORCHSCRIPT;
    }

    archive_read_support_format_zip_streamable(ar);

    if (archive_read_open(ar, &src, NULL, ts_archive_sniff_read, NULL)
        != ARCHIVE_OK)
    {
        snprintf(why, whylen, "%s", archive_error_string(ar));
        kind = src.failed ? TS_ARCHIVE_SNIFF_FAILED
                          : TS_ARCHIVE_NOT_TORCHSCRIPT;

    } else {
        kind = ts_archive_sniff_entries(ar, &src, why, whylen);
    }

    archive_read_free(ar);

    return kind;
}


static la_ssize_t
ts_archive_sniff_read(struct archive *ar, void *data, const void **block)
{
    ssize_t                  n;
    ts_archive_sniff_src_t  *src = data;

    if (src->first != NULL) {
        *block = src->first;
        src->first = NULL;
        return src->nfirst;
    }

    n = src->read(src->data, block);

    if (n < 0) {
        /* the source has the message; libarchive's only stops the zip */
        src->failed = 1;
        archive_set_error(ar, EIO, "the serialized file cannot be read");
        return ARCHIVE_FATAL;
    }

    return n;
}


/* up to the first TorchScript entry: torch.jit.save writes them last */

static ts_archive_torch_kind_e
ts_archive_sniff_entries(struct archive *ar, ts_archive_sniff_src_t *src,
    char *why, size_t whylen)
{
    int                    rc, has_data_pkl;
    const char            *name, *rest;
    struct archive_entry  *entry;

    has_data_pkl = 0;

    for ( ;; ) {
        rc = archive_read_next_header(ar, &entry);

        if (rc == ARCHIVE_EOF) {
            break;
        }

        if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
            if (src->failed) {
                return TS_ARCHIVE_SNIFF_FAILED;
            }

            snprintf(why, whylen, "%s", archive_error_string(ar));
            return TS_ARCHIVE_NOT_TORCHSCRIPT;
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
            return TS_ARCHIVE_TORCHSCRIPT;
        }

        if (strcmp(rest, "data.pkl") == 0) {
            has_data_pkl = 1;
        }
    }

    if (has_data_pkl) {
        return TS_ARCHIVE_STATE_DICT;
    }

    snprintf(why, whylen, "no code/ or constants.pkl in it");

    return TS_ARCHIVE_NOT_TORCHSCRIPT;
}
