/*
 * ts_archive.c: TorchServe model archives (zip, tar.gz, folder) read into
 * memory: the API of ts_archive.h, the format told from the content, and
 * the manifest parsed once every entry is in.  The formats are read by
 * ts_archive_packed.c and ts_archive_folder.c, every entry checked by
 * ts_archive_entry.c; ts_archive_torch.c says whether it is TorchScript,
 * with a second pass (ts_archive_sniff_path) when the data was not kept.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "ts_archive_int.h"


static void ts_archive_limits_init(ts_archive_limits_t *out,
    const ts_archive_limits_t *in);
static int ts_archive_read_path(ts_archive_reader_t *rd);
static int ts_archive_read_file(ts_archive_reader_t *rd, int fd);
static int ts_archive_finish(ts_archive_reader_t *rd);
static int ts_archive_cmp_files(const void *one, const void *two);


ts_archive_t *
ts_archive_open(const char *path, const ts_archive_limits_t *limits,
    char *err, size_t errlen)
{
    ts_archive_t         *a;
    ts_archive_reader_t   rd;

    memset(&rd, 0, sizeof(ts_archive_reader_t));

    rd.path = path;
    rd.err = err;
    rd.errlen = errlen;

    ts_archive_limits_init(&rd.limits, limits);

    a = calloc(1, sizeof(ts_archive_t));
    if (a == NULL) {
        snprintf(err, errlen, "\"%s\": out of memory", path);
        return NULL;
    }

    rd.archive = a;
    a->limits = rd.limits;

    a->path = strdup(path);
    if (a->path == NULL) {
        ts_archive_error(&rd, "\"%s\": out of memory", path);
        goto failed;
    }

    if (ts_archive_read_path(&rd) != 0 || ts_archive_finish(&rd) != 0) {
        goto failed;
    }

    return a;

failed:

    ts_archive_free(a);

    return NULL;
}


/* opens rd->path and reads it, whatever its layout */

static int
ts_archive_read_path(ts_archive_reader_t *rd)
{
    int           fd, rc;
    struct stat   st;

    /* O_NONBLOCK: a FIFO given as the path must not hang the open */
    fd = open(rd->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd == -1) {
        ts_archive_error(rd, "cannot open \"%s\": %m", rd->path);
        return -1;
    }

    if (fstat(fd, &st) == -1) {
        ts_archive_error(rd, "cannot stat \"%s\": %m", rd->path);
        close(fd);
        return -1;
    }

    if (S_ISDIR(st.st_mode)) {
        rd->archive->format = TS_ARCHIVE_DIR;

        /* takes fd over */
        return ts_archive_read_folder(rd, fd);
    }

    if (S_ISREG(st.st_mode)) {
        rc = ts_archive_read_file(rd, fd);

    } else {
        ts_archive_error(rd, "\"%s\" is %s, not an archive or a folder",
                         rd->path, ts_archive_type_name(st.st_mode));
        rc = -1;
    }

    close(fd);

    return rc;
}


/*
 * A second open, not a hook in the first pass: the serializedFile is
 * only known once the manifest is parsed, and the manifest may come
 * last.  Zip seeks past the other entries; tar reads up to this one.
 */

int
ts_archive_sniff_path(const ts_archive_t *a, ts_archive_sniff_t *sniff,
    char *err, size_t errlen)
{
    int                   rc;
    ts_archive_reader_t   rd;

    memset(&rd, 0, sizeof(ts_archive_reader_t));

    rd.path = a->path;
    rd.err = err;
    rd.errlen = errlen;
    rd.sniff = sniff;

    ts_archive_limits_init(&rd.limits, &a->limits);
    rd.limits.with_data = 0;

    sniff->found = 0;

    /* the entries this pass lists (names only) are thrown away */
    rd.archive = calloc(1, sizeof(ts_archive_t));
    if (rd.archive == NULL) {
        snprintf(err, errlen, "\"%s\": out of memory", a->path);
        return -1;
    }

    rc = ts_archive_read_path(&rd);

    ts_archive_free(rd.archive);

    if (rc != 0) {
        return -1;
    }

    if (!sniff->found) {
        /* it was there on the first pass: the archive changed since */
        snprintf(err, errlen, "\"%s\": entry \"%s\" is gone", a->path,
                 sniff->name);
        return -1;
    }

    return 0;
}


/* the caller's limits (NULL: defaults, with data), 0s made defaults */

static void
ts_archive_limits_init(ts_archive_limits_t *out,
    const ts_archive_limits_t *in)
{
    if (in != NULL) {
        *out = *in;

    } else {
        memset(out, 0, sizeof(ts_archive_limits_t));
        out->with_data = 1;
    }

    if (out->max_entry_size == 0) {
        out->max_entry_size = TS_ARCHIVE_DEFAULT_MAX_ENTRY;
    }

    if (out->max_total_size == 0) {
        out->max_total_size = TS_ARCHIVE_DEFAULT_MAX_TOTAL;
    }

    if (out->max_entries == 0) {
        out->max_entries = TS_ARCHIVE_DEFAULT_MAX_ENTRIES;
    }

    if (out->max_entry_size > TS_ARCHIVE_MAX_LIMIT) {
        out->max_entry_size = TS_ARCHIVE_MAX_LIMIT;
    }

    if (out->max_total_size > TS_ARCHIVE_MAX_LIMIT) {
        out->max_total_size = TS_ARCHIVE_MAX_LIMIT;
    }
}


/* the content decides, not the name: ".mar" may be anything */

static int
ts_archive_read_file(ts_archive_reader_t *rd, int fd)
{
    ssize_t         n;
    unsigned char   magic[512];
    ts_archive_t   *a;

    a = rd->archive;

    n = pread(fd, magic, sizeof(magic), 0);
    if (n == -1) {
        ts_archive_error(rd, "cannot read \"%s\": %m", rd->path);
        return -1;
    }

    if (n >= 4
        && magic[0] == 'P' && magic[1] == 'K'
        && ((magic[2] == 3 && magic[3] == 4)
            || (magic[2] == 5 && magic[3] == 6)))
    {
        a->format = TS_ARCHIVE_ZIP;
        return ts_archive_read_packed(rd, fd, 1, 0);
    }

    if (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
        a->format = TS_ARCHIVE_TGZ;
        return ts_archive_read_packed(rd, fd, 0, 1);
    }

    if (n >= 262 && memcmp(&magic[257], "ustar", 5) == 0) {
        /* an uncompressed tar: same layout as tgz */
        a->format = TS_ARCHIVE_TGZ;
        return ts_archive_read_packed(rd, fd, 0, 0);
    }

    ts_archive_error(rd, "\"%s\" is not a zip (.mar), tar.gz or tar archive",
                     rd->path);

    return -1;
}


void
ts_archive_free(ts_archive_t *a)
{
    size_t  i;

    if (a == NULL) {
        return;
    }

    for (i = 0; i < a->nfiles; i++) {
        free(a->files[i].name);
        free(a->files[i].data);
    }

    free(a->files);
    ts_manifest_clear(&a->manifest);
    free(a->path);
    free(a);
}


const ts_archive_file_t *
ts_archive_find(const ts_archive_t *a, const char *name)
{
    size_t  i;

    /* linear: the few look-ups per archive do not pay for an index */
    for (i = 0; i < a->nfiles; i++) {
        if (strcmp(a->files[i].name, name) == 0) {
            return &a->files[i];
        }
    }

    return NULL;
}


static int
ts_archive_finish(ts_archive_reader_t *rd)
{
    char                msg[512];
    size_t              i;
    ts_archive_t       *a;
    ts_archive_file_t  *manifest;

    a = rd->archive;

    /* sorted, an archive reads the same whatever order it was packed in */
    if (a->nfiles > 1) {
        qsort(a->files, a->nfiles, sizeof(ts_archive_file_t),
              ts_archive_cmp_files);
    }

    for (i = 1; i < a->nfiles; i++) {
        if (strcmp(a->files[i - 1].name, a->files[i].name) == 0) {
            ts_archive_error(rd, "\"%s\": entry \"%s\" appears twice",
                             rd->path, a->files[i].name);
            return -1;
        }
    }

    manifest = (ts_archive_file_t *) ts_archive_find(a, TS_ARCHIVE_MANIFEST);

    if (manifest == NULL) {
        ts_archive_error(rd, "\"%s\" has no " TS_ARCHIVE_MANIFEST, rd->path);
        return -1;
    }

    if (ts_manifest_parse((const char *) manifest->data, manifest->size,
                          &a->manifest, msg, sizeof(msg))
        != 0)
    {
        ts_archive_error(rd, "\"%s\": " TS_ARCHIVE_MANIFEST ": %s",
                         rd->path, msg);
        return -1;
    }

    if (!rd->limits.with_data) {
        free(manifest->data);
        manifest->data = NULL;
    }

    return 0;
}


static int
ts_archive_cmp_files(const void *one, const void *two)
{
    const ts_archive_file_t  *a = one;
    const ts_archive_file_t  *b = two;

    return strcmp(a->name, b->name);
}
