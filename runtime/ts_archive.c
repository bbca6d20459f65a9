/*
 * ts_archive.c: TorchServe model archives (zip, tar.gz, folder) read into
 * memory.  Nothing is ever written to disk, so the checks libarchive's
 * disk writer would do (ARCHIVE_EXTRACT_SECURE_*) are done here, on every
 * entry: names, types and bytes actually decompressed.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "ts_archive.h"


#define TS_ARCHIVE_MANIFEST     "MAR-INF/MANIFEST.json"
#define TS_ARCHIVE_BLOCK_SIZE   65536

/* folders: bounds the recursion and the folders held open at once */
#define TS_ARCHIVE_MAX_DEPTH    64

/* keeps "limit + 1" and "total + size" far from overflowing */
#define TS_ARCHIVE_MAX_LIMIT    (SIZE_MAX / 4)


typedef struct {
    const char           *path;
    ts_archive_limits_t   limits;
    ts_archive_t         *archive;
    size_t                nalloc;   /* of archive->files */
    size_t                nentries; /* every entry seen, folders too */
    size_t                total;    /* bytes of the entries accepted */
    char                 *err;
    size_t                errlen;
} ts_archive_reader_t;


typedef struct {
    unsigned char  *data;
    size_t          size;
    size_t          capacity;       /* usable; one more byte holds a NUL */
} ts_archive_buf_t;


typedef enum {
    TS_ARCHIVE_TORCHSCRIPT = 0,
    TS_ARCHIVE_STATE_DICT,
    TS_ARCHIVE_UNKNOWN
} ts_archive_torch_kind_e;


static void ts_archive_error(ts_archive_reader_t *rd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int ts_archive_read_packed(ts_archive_reader_t *rd, int fd, int zip,
    int gzip);
static int ts_archive_read_entry(ts_archive_reader_t *rd, struct archive *ar,
    struct archive_entry *entry, int drop_top);
static int ts_archive_read_entry_data(ts_archive_reader_t *rd,
    struct archive *ar, struct archive_entry *entry, char *name, int keep);
static int ts_archive_read_folder(ts_archive_reader_t *rd, int fd);
static int ts_archive_walk(ts_archive_reader_t *rd, DIR *dir,
    const char *prefix, unsigned depth);
static int ts_archive_read_regular(ts_archive_reader_t *rd, int fd,
    char *name, int keep);
static char *ts_archive_clean_name(ts_archive_reader_t *rd, const char *raw,
    int drop_top);
static const char *ts_archive_type_name(mode_t mode);
static int ts_archive_count_entry(ts_archive_reader_t *rd);
static int ts_archive_check_size(ts_archive_reader_t *rd, const char *name,
    size_t size);
static int ts_archive_buf_reserve(ts_archive_reader_t *rd,
    ts_archive_buf_t *b, size_t hint);
static int ts_archive_add(ts_archive_reader_t *rd, char *name,
    unsigned char *data, size_t size);
static int ts_archive_keep(ts_archive_reader_t *rd, const char *name);
static int ts_archive_finish(ts_archive_reader_t *rd);
static int ts_archive_cmp_files(const void *one, const void *two);
static ts_archive_torch_kind_e ts_archive_sniff_torch(
    const ts_archive_file_t *file, char *why, size_t whylen);


ts_archive_t *
ts_archive_open(const char *path, const ts_archive_limits_t *limits,
    char *err, size_t errlen)
{
    int                   fd, rc;
    ssize_t               n;
    struct stat           st;
    unsigned char         magic[512];
    ts_archive_t         *a;
    ts_archive_reader_t   rd;

    memset(&rd, 0, sizeof(ts_archive_reader_t));

    rd.path = path;
    rd.err = err;
    rd.errlen = errlen;

    if (limits != NULL) {
        rd.limits = *limits;

    } else {
        rd.limits.with_data = 1;
    }

    if (rd.limits.max_entry_size == 0) {
        rd.limits.max_entry_size = TS_ARCHIVE_DEFAULT_MAX_ENTRY;
    }

    if (rd.limits.max_total_size == 0) {
        rd.limits.max_total_size = TS_ARCHIVE_DEFAULT_MAX_TOTAL;
    }

    if (rd.limits.max_entries == 0) {
        rd.limits.max_entries = TS_ARCHIVE_DEFAULT_MAX_ENTRIES;
    }

    if (rd.limits.max_entry_size > TS_ARCHIVE_MAX_LIMIT) {
        rd.limits.max_entry_size = TS_ARCHIVE_MAX_LIMIT;
    }

    if (rd.limits.max_total_size > TS_ARCHIVE_MAX_LIMIT) {
        rd.limits.max_total_size = TS_ARCHIVE_MAX_LIMIT;
    }

    fd = -1;
    rc = -1;

    a = calloc(1, sizeof(ts_archive_t));
    if (a == NULL) {
        snprintf(err, errlen, "\"%s\": out of memory", path);
        return NULL;
    }

    rd.archive = a;

    a->path = strdup(path);
    if (a->path == NULL) {
        ts_archive_error(&rd, "\"%s\": out of memory", path);
        goto failed;
    }

    /* O_NONBLOCK: a FIFO given as the path must not hang the open */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd == -1) {
        ts_archive_error(&rd, "cannot open \"%s\": %m", path);
        goto failed;
    }

    if (fstat(fd, &st) == -1) {
        ts_archive_error(&rd, "cannot stat \"%s\": %m", path);
        goto failed;
    }

    if (S_ISDIR(st.st_mode)) {
        a->format = TS_ARCHIVE_DIR;

        rc = ts_archive_read_folder(&rd, fd);
        fd = -1;

    } else if (S_ISREG(st.st_mode)) {

        /* the content decides, not the name: ".mar" may be anything */
        n = pread(fd, magic, sizeof(magic), 0);
        if (n == -1) {
            ts_archive_error(&rd, "cannot read \"%s\": %m", path);
            goto failed;
        }

        if (n >= 4
            && magic[0] == 'P' && magic[1] == 'K'
            && ((magic[2] == 3 && magic[3] == 4)
                || (magic[2] == 5 && magic[3] == 6)))
        {
            a->format = TS_ARCHIVE_ZIP;
            rc = ts_archive_read_packed(&rd, fd, 1, 0);

        } else if (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
            a->format = TS_ARCHIVE_TGZ;
            rc = ts_archive_read_packed(&rd, fd, 0, 1);

        } else if (n >= 262 && memcmp(&magic[257], "ustar", 5) == 0) {
            /* an uncompressed tar: same layout as tgz */
            a->format = TS_ARCHIVE_TGZ;
            rc = ts_archive_read_packed(&rd, fd, 0, 0);

        } else {
            ts_archive_error(&rd, "\"%s\" is not a zip (.mar), tar.gz or "
                             "tar archive", path);
            goto failed;
        }

    } else {
        ts_archive_error(&rd, "\"%s\" is %s, not an archive or a folder",
                         path, ts_archive_type_name(st.st_mode));
        goto failed;
    }

    if (rc != 0 || ts_archive_finish(&rd) != 0) {
        goto failed;
    }

    if (fd != -1) {
        close(fd);
    }

    return a;

failed:

    if (fd != -1) {
        close(fd);
    }

    ts_archive_free(a);

    return NULL;
}


void
ts_archive_free(ts_archive_t *a)
{
    size_t              i;

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


static void
ts_archive_error(ts_archive_reader_t *rd, const char *fmt, ...)
{
    va_list  args;

    /* nothing may run before vsnprintf: "%m" reads errno */
    va_start(args, fmt);
    vsnprintf(rd->err, rd->errlen, fmt, args);
    va_end(args);
}


static int
ts_archive_read_packed(ts_archive_reader_t *rd, int fd, int zip, int gzip)
{
    int                    rc;
    locale_t               utf8, saved;
    struct archive        *ar;
    struct archive_entry  *entry;

    /*
     * libarchive converts names to the locale's charset, and nginx runs in
     * the "C" locale, where a zip's UTF-8 name does not convert and has no
     * pathname at all: read in C.UTF-8, in this thread only.
     */
    saved = (locale_t) 0;
    utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t) 0);

    if (utf8 != (locale_t) 0) {
        saved = uselocale(utf8);
    }

    rc = -1;

    ar = archive_read_new();
    if (ar == NULL) {
        ts_archive_error(rd, "\"%s\": out of memory", rd->path);
        goto failed;
    }

    /* only what TorchServe writes: each extra parser is more attack surface */
    if (zip) {
        archive_read_support_format_zip(ar);

    } else {
        if (gzip) {
            archive_read_support_filter_gzip(ar);
        }

        archive_read_support_format_tar(ar);
    }

    if (archive_read_open_fd(ar, fd, TS_ARCHIVE_BLOCK_SIZE) != ARCHIVE_OK) {
        ts_archive_error(rd, "\"%s\": %s", rd->path, archive_error_string(ar));
        goto failed;
    }

    for ( ;; ) {
        rc = archive_read_next_header(ar, &entry);

        if (rc == ARCHIVE_EOF) {
            break;
        }

        /*
         * ARCHIVE_WARN: the header was read, with a problem (a name not
         * in the locale's charset, an unknown pax key); the checks below
         * still apply to what was read
         */
        if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
            ts_archive_error(rd, "\"%s\": %s", rd->path,
                             archive_error_string(ar));
            rc = -1;
            goto failed;
        }

        rc = ts_archive_read_entry(rd, ar, entry, !zip);
        if (rc != 0) {
            goto failed;
        }
    }

    rc = 0;

failed:

    archive_read_free(ar);

    if (utf8 != (locale_t) 0) {
        uselocale(saved);
        freelocale(utf8);
    }

    return rc;
}


static int
ts_archive_read_entry(ts_archive_reader_t *rd, struct archive *ar,
    struct archive_entry *entry, int drop_top)
{
    char        *name;
    mode_t       type;
    const char  *raw;

    raw = archive_entry_pathname(entry);
    if (raw == NULL) {
        raw = archive_entry_pathname_utf8(entry);
    }

    if (raw == NULL) {
        ts_archive_error(rd, "\"%s\": an entry has no usable name (%s)",
                         rd->path, archive_error_string(ar)
                                   ? archive_error_string(ar) : "no name");
        return -1;
    }

    if (ts_archive_count_entry(rd) != 0) {
        return -1;
    }

    name = ts_archive_clean_name(rd, raw, drop_top);
    if (name == NULL) {
        return -1;
    }

    if (archive_entry_hardlink(entry) != NULL) {
        ts_archive_error(rd, "\"%s\": entry \"%s\" is a hard link",
                         rd->path, raw);
        goto failed;
    }

    type = (mode_t) archive_entry_filetype(entry);

    if (type == AE_IFDIR) {
        free(name);
        return 0;
    }

    if (type != AE_IFREG || archive_entry_symlink(entry) != NULL) {
        ts_archive_error(rd, "\"%s\": entry \"%s\" is %s",
                         rd->path, raw,
                         type == AE_IFREG ? "a symbolic link"
                                          : ts_archive_type_name(type));
        goto failed;
    }

    if (name[0] == '\0') {
        ts_archive_error(rd, "\"%s\": entry \"%s\" has no file name",
                         rd->path, raw);
        goto failed;
    }

    if (archive_entry_is_encrypted(entry)) {
        ts_archive_error(rd, "\"%s\": entry \"%s\" is encrypted",
                         rd->path, raw);
        goto failed;
    }

    return ts_archive_read_entry_data(rd, ar, entry, name,
                                      ts_archive_keep(rd, name));

failed:

    free(name);

    return -1;
}


/* takes name over, whatever happens */

static int
ts_archive_read_entry_data(ts_archive_reader_t *rd, struct archive *ar,
    struct archive_entry *entry, char *name, int keep)
{
    size_t             hint, end;
    ssize_t            n;
    la_int64_t         header_size, offset;
    const void        *block;
    ts_archive_buf_t   b;

    memset(&b, 0, sizeof(ts_archive_buf_t));

    header_size = archive_entry_size_is_set(entry) ? archive_entry_size(entry)
                                                   : -1;

    if (!keep && header_size >= 0) {

        /*
         * Nothing is kept, so a lying header costs no memory: trust it and
         * skip the data (zip seeks past it).  With data, bytes are counted.
         */
        if ((uint64_t) header_size > TS_ARCHIVE_MAX_LIMIT) {
            header_size = TS_ARCHIVE_MAX_LIMIT;
        }

        if (ts_archive_check_size(rd, name, (size_t) header_size) != 0) {
            goto failed;
        }

        if (archive_read_data_skip(ar) != ARCHIVE_OK) {
            ts_archive_error(rd, "\"%s\": entry \"%s\": %s", rd->path, name,
                             archive_error_string(ar));
            goto failed;
        }

        return ts_archive_add(rd, name, NULL, (size_t) header_size);
    }

    if (!keep) {
        /* no size in the header: count what comes out, keep none of it */
        for ( ;; ) {
            n = archive_read_data_block(ar, &block, &end, &offset);

            if (n == ARCHIVE_EOF) {
                break;
            }

            if (n != ARCHIVE_OK) {
                ts_archive_error(rd, "\"%s\": entry \"%s\": %s", rd->path,
                                 name, archive_error_string(ar));
                goto failed;
            }

            /* sparse entries: a hole counts as the zeros it stands for */
            if (offset < 0 || (uint64_t) offset > TS_ARCHIVE_MAX_LIMIT) {
                offset = TS_ARCHIVE_MAX_LIMIT;
            }

            end += (size_t) offset;

            if (end > b.size) {
                b.size = end;
            }

            if (ts_archive_check_size(rd, name, b.size) != 0) {
                goto failed;
            }
        }

        return ts_archive_add(rd, name, NULL, b.size);
    }

    hint = 0;

    if (header_size >= 0
        && (uint64_t) header_size <= rd->limits.max_entry_size)
    {
        hint = (size_t) header_size;
    }

    for ( ;; ) {
        if (ts_archive_buf_reserve(rd, &b, hint) != 0) {
            goto failed;
        }

        n = archive_read_data(ar, b.data + b.size, b.capacity - b.size);

        if (n == 0) {
            break;
        }

        if (n < 0) {
            ts_archive_error(rd, "\"%s\": entry \"%s\": %s", rd->path, name,
                             archive_error_string(ar));
            goto failed;
        }

        b.size += (size_t) n;

        if (ts_archive_check_size(rd, name, b.size) != 0) {
            goto failed;
        }
    }

    return ts_archive_add(rd, name, b.data, b.size);

failed:

    free(b.data);
    free(name);

    return -1;
}


/* takes fd over */

static int
ts_archive_read_folder(ts_archive_reader_t *rd, int fd)
{
    int             count, sub_fd;
    DIR            *dir, *sub;
    char            lone[256];
    struct stat     st;
    struct dirent  *de;

    dir = fdopendir(fd);
    if (dir == NULL) {
        ts_archive_error(rd, "cannot read folder \"%s\": %m", rd->path);
        close(fd);
        return -1;
    }

    /*
     * No MAR-INF but a lone sub-folder: the model is in there, as when a
     * "no-archive" export folder is given instead of the model's own.
     */
    if (fstatat(dirfd(dir), "MAR-INF", &st, AT_SYMLINK_NOFOLLOW) == -1
        && errno == ENOENT)
    {
        count = 0;

        for ( ;; ) {
            errno = 0;
            de = readdir(dir);
            if (de == NULL) {
                break;
            }

            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            {
                continue;
            }

            if (++count == 1) {
                snprintf(lone, sizeof(lone), "%s", de->d_name);
            }
        }

        if (errno != 0) {
            ts_archive_error(rd, "cannot read folder \"%s\": %m", rd->path);
            closedir(dir);
            return -1;
        }

        if (count == 1
            && fstatat(dirfd(dir), lone, &st, AT_SYMLINK_NOFOLLOW) == 0
            && S_ISDIR(st.st_mode))
        {
            sub_fd = openat(dirfd(dir), lone,
                            O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub_fd == -1) {
                ts_archive_error(rd, "cannot open folder \"%s/%s\": %m",
                                 rd->path, lone);
                closedir(dir);
                return -1;
            }

            sub = fdopendir(sub_fd);
            if (sub == NULL) {
                ts_archive_error(rd, "cannot read folder \"%s/%s\": %m",
                                 rd->path, lone);
                close(sub_fd);
                closedir(dir);
                return -1;
            }

            closedir(dir);
            dir = sub;

        } else {
            rewinddir(dir);
        }
    }

    return ts_archive_walk(rd, dir, NULL, 0);
}


/* takes dir over; names are prefix/entry, without the folder's own path */

static int
ts_archive_walk(ts_archive_reader_t *rd, DIR *dir, const char *prefix,
    unsigned depth)
{
    int             fd, rc;
    DIR            *sub;
    char           *name;
    size_t          len;
    struct stat     st;
    struct dirent  *de;

    rc = -1;
    name = NULL;

    for ( ;; ) {
        errno = 0;
        de = readdir(dir);

        if (de == NULL) {
            if (errno != 0) {
                ts_archive_error(rd, "\"%s\": cannot read folder \"%s\": %m",
                                 rd->path, prefix ? prefix : ".");
                goto failed;
            }

            break;
        }

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }

        len = (prefix ? strlen(prefix) + 1 : 0) + strlen(de->d_name) + 1;

        name = malloc(len);
        if (name == NULL) {
            ts_archive_error(rd, "\"%s\": out of memory", rd->path);
            goto failed;
        }

        if (prefix) {
            snprintf(name, len, "%s/%s", prefix, de->d_name);

        } else {
            snprintf(name, len, "%s", de->d_name);
        }

        if (ts_archive_count_entry(rd) != 0) {
            goto failed;
        }

        if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
            ts_archive_error(rd, "\"%s\": cannot stat \"%s\": %m",
                             rd->path, name);
            goto failed;
        }

        if (S_ISDIR(st.st_mode)) {

            if (depth + 1 >= TS_ARCHIVE_MAX_DEPTH) {
                ts_archive_error(rd, "\"%s\": folder \"%s\" is nested more "
                                 "than %d deep", rd->path, name,
                                 TS_ARCHIVE_MAX_DEPTH);
                goto failed;
            }

            /* O_NOFOLLOW: a symlink swapped in since fstatat is refused */
            fd = openat(dirfd(dir), de->d_name,
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd == -1) {
                ts_archive_error(rd, "\"%s\": cannot open folder \"%s\": %m",
                                 rd->path, name);
                goto failed;
            }

            sub = fdopendir(fd);
            if (sub == NULL) {
                ts_archive_error(rd, "\"%s\": cannot read folder \"%s\": %m",
                                 rd->path, name);
                close(fd);
                goto failed;
            }

            if (ts_archive_walk(rd, sub, name, depth + 1) != 0) {
                goto failed;
            }

            free(name);
            name = NULL;

            continue;
        }

        if (!S_ISREG(st.st_mode)) {
            ts_archive_error(rd, "\"%s\": entry \"%s\" is %s", rd->path,
                             name, ts_archive_type_name(st.st_mode));
            goto failed;
        }

        fd = openat(dirfd(dir), de->d_name,
                    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd == -1) {
            ts_archive_error(rd, "\"%s\": cannot open \"%s\": %m",
                             rd->path, name);
            goto failed;
        }

        if (ts_archive_read_regular(rd, fd, name, ts_archive_keep(rd, name))
            != 0)
        {
            name = NULL;
            close(fd);
            goto failed;
        }

        name = NULL;
        close(fd);
    }

    rc = 0;

failed:

    free(name);
    closedir(dir);

    return rc;
}


/* takes name over, whatever happens */

static int
ts_archive_read_regular(ts_archive_reader_t *rd, int fd, char *name,
    int keep)
{
    size_t            hint;
    ssize_t           n;
    struct stat       st;
    ts_archive_buf_t  b;

    memset(&b, 0, sizeof(ts_archive_buf_t));

    if (fstat(fd, &st) == -1) {
        ts_archive_error(rd, "\"%s\": cannot stat \"%s\": %m", rd->path,
                         name);
        goto failed;
    }

    /* the entry may have been swapped since fstatat */
    if (!S_ISREG(st.st_mode)) {
        ts_archive_error(rd, "\"%s\": entry \"%s\" is %s", rd->path, name,
                         ts_archive_type_name(st.st_mode));
        goto failed;
    }

    if (!keep) {
        if (ts_archive_check_size(rd, name, (size_t) st.st_size) != 0) {
            goto failed;
        }

        return ts_archive_add(rd, name, NULL, (size_t) st.st_size);
    }

    hint = (uint64_t) st.st_size <= rd->limits.max_entry_size
           ? (size_t) st.st_size : 0;

    for ( ;; ) {
        if (ts_archive_buf_reserve(rd, &b, hint) != 0) {
            goto failed;
        }

        n = read(fd, b.data + b.size, b.capacity - b.size);

        if (n == 0) {
            break;
        }

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }

            ts_archive_error(rd, "\"%s\": cannot read \"%s\": %m", rd->path,
                             name);
            goto failed;
        }

        b.size += (size_t) n;

        /* the file may grow while it is read */
        if (ts_archive_check_size(rd, name, b.size) != 0) {
            goto failed;
        }
    }

    return ts_archive_add(rd, name, b.data, b.size);

failed:

    free(b.data);
    free(name);

    return -1;
}


/*
 * "./a//b/" -> "a/b"; with drop_top, the first component goes, as the
 * TorchServe frontend drops it from tgz entries (unless it is the only
 * one).  Absolute names and ".." are refused: a consumer may one day
 * extract these names into a private folder.
 */

static char *
ts_archive_clean_name(ts_archive_reader_t *rd, const char *raw,
    int drop_top)
{
    char        *out;
    size_t       len, n, first_end, ncomponents;
    const char  *p;

    if (raw[0] == '/') {
        ts_archive_error(rd, "\"%s\": entry \"%s\" has an absolute path",
                         rd->path, raw);
        return NULL;
    }

    out = malloc(strlen(raw) + 1);
    if (out == NULL) {
        ts_archive_error(rd, "\"%s\": out of memory", rd->path);
        return NULL;
    }

    n = 0;
    first_end = 0;
    ncomponents = 0;

    for (p = raw; *p != '\0'; p += len) {

        if (*p == '/') {
            p++;
            len = 0;
            continue;
        }

        len = strcspn(p, "/");

        if (len == 1 && p[0] == '.') {
            continue;
        }

        if (len == 2 && p[0] == '.' && p[1] == '.') {
            ts_archive_error(rd, "\"%s\": entry \"%s\" has a \"..\" "
                             "component", rd->path, raw);
            free(out);
            return NULL;
        }

        if (n > 0) {
            out[n++] = '/';
        }

        memcpy(out + n, p, len);
        n += len;

        if (++ncomponents == 1) {
            first_end = n;
        }
    }

    out[n] = '\0';

    if (drop_top && ncomponents > 1) {
        memmove(out, out + first_end + 1, n - first_end);
    }

    return out;
}


static const char *
ts_archive_type_name(mode_t mode)
{
    switch (mode & S_IFMT) {

    case S_IFLNK:
        return "a symbolic link";

    case S_IFCHR:
        return "a character device";

    case S_IFBLK:
        return "a block device";

    case S_IFIFO:
        return "a FIFO";

    case S_IFSOCK:
        return "a socket";

    case S_IFDIR:
        return "a folder";

    default:
        return "not a regular file";
    }
}


static int
ts_archive_count_entry(ts_archive_reader_t *rd)
{
    if (++rd->nentries > rd->limits.max_entries) {
        ts_archive_error(rd, "\"%s\" has more than %zu entries",
                         rd->path, rd->limits.max_entries);
        return -1;
    }

    return 0;
}


/* size: bytes of this entry so far, which rd->total does not hold yet */

static int
ts_archive_check_size(ts_archive_reader_t *rd, const char *name,
    size_t size)
{
    if (size > rd->limits.max_entry_size) {
        ts_archive_error(rd, "\"%s\": entry \"%s\" is larger than %zu "
                         "bytes", rd->path, name,
                         rd->limits.max_entry_size);
        return -1;
    }

    /* rd->total never exceeds max_total_size: no underflow */
    if (size > rd->limits.max_total_size - rd->total) {
        ts_archive_error(rd, "\"%s\": entries are larger than %zu bytes in "
                         "total (at entry \"%s\")", rd->path,
                         rd->limits.max_total_size, name);
        return -1;
    }

    return 0;
}


/*
 * Room for at least one more byte.  The first allocation takes the size
 * the header claims plus one (a lie only wastes address space, and the
 * extra byte lets the read that meets the end return 0 without a
 * realloc); later ones double, never past max_entry_size + 1, which is
 * enough to see an entry go over the limit.
 */

static int
ts_archive_buf_reserve(ts_archive_reader_t *rd, ts_archive_buf_t *b,
    size_t hint)
{
    size_t          capacity, ceiling;
    unsigned char  *data;

    if (b->size < b->capacity) {
        return 0;
    }

    ceiling = rd->limits.max_entry_size + 1;

    if (b->capacity == 0) {
        capacity = hint + 1;

        if (capacity < 4096) {
            capacity = 4096;
        }

    } else {
        capacity = b->capacity * 2;
    }

    if (capacity > ceiling) {
        capacity = ceiling;
    }

    data = realloc(b->data, capacity + 1);
    if (data == NULL) {
        ts_archive_error(rd, "\"%s\": out of memory (%zu bytes)", rd->path,
                         capacity);
        return -1;
    }

    b->data = data;
    b->capacity = capacity;

    return 0;
}


/*
 * Takes name and data over, whatever happens.  data, when present, has
 * size bytes and room for a NUL after them, which is set here: text files
 * (the manifest, index_to_name.json) can be used as C strings.
 */

static int
ts_archive_add(ts_archive_reader_t *rd, char *name, unsigned char *data,
    size_t size)
{
    size_t              nalloc;
    unsigned char      *shrunk;
    ts_archive_t       *a;
    ts_archive_file_t  *files;

    a = rd->archive;

    if (a->nfiles == rd->nalloc) {
        nalloc = rd->nalloc ? rd->nalloc * 2 : 16;

        files = realloc(a->files, nalloc * sizeof(ts_archive_file_t));
        if (files == NULL) {
            ts_archive_error(rd, "\"%s\": out of memory", rd->path);
            free(name);
            free(data);
            return -1;
        }

        a->files = files;
        rd->nalloc = nalloc;
    }

    if (data != NULL) {
        data[size] = '\0';

        /* a header that claimed more than came out: give the rest back */
        shrunk = realloc(data, size + 1);
        if (shrunk != NULL) {
            data = shrunk;
        }
    }

    a->files[a->nfiles].name = name;
    a->files[a->nfiles].data = data;
    a->files[a->nfiles].size = size;
    a->nfiles++;

    rd->total += size;

    return 0;
}


/*
 * Without data, the manifest and YAML files are still read: the
 * manifest's configFile (model-config.yaml) sets the model's defaults,
 * and its name is only known once the manifest, often last, is read.
 */
static int
ts_archive_keep(ts_archive_reader_t *rd, const char *name)
{
    size_t  len;

    if (rd->limits.with_data || strcmp(name, TS_ARCHIVE_MANIFEST) == 0) {
        return 1;
    }

    len = strlen(name);

    return (len > 5 && strcmp(name + len - 5, ".yaml") == 0)
           || (len > 4 && strcmp(name + len - 4, ".yml") == 0);
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
