/*
 * ts_archive_write.c: model archives written with libarchive (zip deflate
 * or stored, tar + gzip) or as plain files under a folder, and the
 * manifest text upstream's Python writes.
 *
 * What upstream's torch-model-archiver 0.12 writes, and so what we write:
 *   - zip: one entry per file, no folder entries, the manifest last;
 *     Python's zipfile sets the UTF-8 flag on non-ASCII names (libarchive
 *     does in a UTF-8 locale, hence the C.UTF-8 switch around each call);
 *   - tgz: Python's tarfile in pax format, gzip level 9, each entry
 *     "{model}/{name}", the manifest last, with mode 0644 and mtime 0 (a
 *     bare TarInfo); we use libarchive's restricted pax (ustar unless a
 *     name needs more), owner 0:0 without names;
 *   - no-archive: files copied under "{export}/{model}/" (mode kept, mtime
 *     not, as shutil.copy does), the manifest written last.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "ts_archive_write.h"


#define TS_ARCHIVE_WRITE_BUF    65536

#define ts_json_buf_lit(b, s)   ts_json_buf_add(b, s, sizeof(s) - 1)


struct ts_archive_writer_s {
    ts_archive_write_format_e   format;
    int                         fd;
    struct archive             *ar;
    char                       *top;        /* tgz only */
    unsigned char              *buf;
    unsigned                    seq;        /* temp names, "no-archive" */
    unsigned                    failed:1;
    unsigned                    finished:1;
};


/* a source for one entry: an open file or bytes in memory */
typedef struct {
    int           fd;                       /* -1: data */
    const char   *label;
    const void   *data;
    size_t        size;
    mode_t        mode;
    time_t        mtime;
} ts_archive_write_src_t;


typedef struct {
    char    *data;
    size_t   len;
    size_t   cap;
    int      nomem;
} ts_archive_write_buf_t;


static int ts_archive_write_packed(ts_archive_writer_t *w, const char *name,
    ts_archive_write_src_t *src, char *err, size_t errlen);
static int ts_archive_write_dir(ts_archive_writer_t *w, const char *name,
    ts_archive_write_src_t *src, char *err, size_t errlen);
static int ts_archive_write_dir_open(ts_archive_writer_t *w,
    const char *name, char **last, char *err, size_t errlen);
static int ts_archive_write_copy(ts_archive_writer_t *w,
    ts_archive_write_src_t *src, int out, const char *name, char *err,
    size_t errlen);
static int ts_archive_write_all(int fd, const void *data, size_t size);
static int ts_archive_write_src_stat(ts_archive_write_src_t *src,
    char *err, size_t errlen);
static size_t ts_utf8_decode(const unsigned char *p, size_t n,
    uint32_t *cp);
static void ts_json_buf_add(ts_archive_write_buf_t *b, const char *s,
    size_t n);
static void ts_json_buf_str(ts_archive_write_buf_t *b, const char *s);
static void ts_json_buf_member(ts_archive_write_buf_t *b, int *first,
    const char *indent, const char *key, const char *value, int always);


int
ts_archive_write_format(const char *name)
{
    if (strcmp(name, "default") == 0) {
        return TS_ARCHIVE_WRITE_ZIP;
    }

    if (strcmp(name, "zip-store") == 0) {
        return TS_ARCHIVE_WRITE_ZIP_STORE;
    }

    if (strcmp(name, "tgz") == 0) {
        return TS_ARCHIVE_WRITE_TGZ;
    }

    if (strcmp(name, "no-archive") == 0) {
        return TS_ARCHIVE_WRITE_DIR;
    }

    return -1;
}


const char *
ts_archive_write_suffix(ts_archive_write_format_e format)
{
    switch (format) {

    case TS_ARCHIVE_WRITE_ZIP:
    case TS_ARCHIVE_WRITE_ZIP_STORE:
        return ".mar";

    case TS_ARCHIVE_WRITE_TGZ:
        return ".tar.gz";

    default:
        return "";
    }
}


int
ts_archive_write_name_ok(const char *name)
{
    size_t          n, len, clen;
    uint32_t        cp;
    const char     *p;

    if (name == NULL || name[0] == '\0' || name[0] == '/') {
        return 0;
    }

    len = strlen(name);

    if (name[len - 1] == '/') {
        return 0;
    }

    for (p = name; *p != '\0'; p += n + (p[n] == '/')) {
        n = strcspn(p, "/");

        if (n == 0
            || (n == 1 && p[0] == '.')
            || (n == 2 && p[0] == '.' && p[1] == '.'))
        {
            return 0;
        }
    }

    for (p = name; *p != '\0'; p += clen) {
        clen = ts_utf8_decode((const unsigned char *) p, strlen(p), &cp);

        if (clen == 0 || cp < 0x20 || cp == 0x7f) {
            return 0;
        }
    }

    return 1;
}


ts_archive_writer_t *
ts_archive_writer_new(ts_archive_write_format_e format, int fd,
    const char *top, char *err, size_t errlen)
{
    int                   rc;
    ts_archive_writer_t  *w;

    w = calloc(1, sizeof(ts_archive_writer_t));
    if (w == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }

    w->format = format;
    w->fd = fd;

    w->buf = malloc(TS_ARCHIVE_WRITE_BUF);
    if (w->buf == NULL) {
        snprintf(err, errlen, "out of memory");
        goto failed;
    }

    if (format == TS_ARCHIVE_WRITE_DIR) {
        return w;
    }

    if (format == TS_ARCHIVE_WRITE_TGZ) {
        if (top == NULL || strchr(top, '/') != NULL
            || !ts_archive_write_name_ok(top))
        {
            snprintf(err, errlen, "invalid top folder \"%s\" for a tgz "
                     "archive", top ? top : "(null)");
            goto failed;
        }

        w->top = strdup(top);
        if (w->top == NULL) {
            snprintf(err, errlen, "out of memory");
            goto failed;
        }
    }

    w->ar = archive_write_new();
    if (w->ar == NULL) {
        snprintf(err, errlen, "out of memory");
        goto failed;
    }

    switch (format) {

    case TS_ARCHIVE_WRITE_ZIP:
        rc = archive_write_set_format_zip(w->ar);
        if (rc == ARCHIVE_OK) {
            rc = archive_write_zip_set_compression_deflate(w->ar);
        }
        break;

    case TS_ARCHIVE_WRITE_ZIP_STORE:
        rc = archive_write_set_format_zip(w->ar);
        if (rc == ARCHIVE_OK) {
            rc = archive_write_zip_set_compression_store(w->ar);
        }
        break;

    case TS_ARCHIVE_WRITE_TGZ:
        rc = archive_write_set_format_pax_restricted(w->ar);
        if (rc == ARCHIVE_OK) {
            rc = archive_write_add_filter_gzip(w->ar);
        }

        /* Python's tarfile "w:gz" compresses at level 9 */
        if (rc == ARCHIVE_OK) {
            rc = archive_write_set_filter_option(w->ar, "gzip",
                                                 "compression-level", "9");
        }
        break;

    default:
        snprintf(err, errlen, "unknown archive format %d", (int) format);
        goto failed;
    }

    if (rc != ARCHIVE_OK) {
        snprintf(err, errlen, "%s", archive_error_string(w->ar));
        goto failed;
    }

    /* no padding after the last byte: a zip ends at its central directory */
    if (archive_write_set_bytes_in_last_block(w->ar, 1) != ARCHIVE_OK
        || archive_write_open_fd(w->ar, fd) != ARCHIVE_OK)
    {
        snprintf(err, errlen, "%s", archive_error_string(w->ar));
        goto failed;
    }

    return w;

failed:

    ts_archive_writer_free(w);

    return NULL;
}


int
ts_archive_writer_add_fd(ts_archive_writer_t *w, const char *name, int fd,
    const char *label, char *err, size_t errlen)
{
    ts_archive_write_src_t  src;

    memset(&src, 0, sizeof(ts_archive_write_src_t));

    src.fd = fd;
    src.label = label ? label : name;

    if (ts_archive_write_src_stat(&src, err, errlen) != 0) {
        return -1;
    }

    if (w->format == TS_ARCHIVE_WRITE_DIR) {
        return ts_archive_write_dir(w, name, &src, err, errlen);
    }

    return ts_archive_write_packed(w, name, &src, err, errlen);
}


int
ts_archive_writer_add_data(ts_archive_writer_t *w, const char *name,
    const void *data, size_t size, mode_t mode, time_t mtime, char *err,
    size_t errlen)
{
    ts_archive_write_src_t  src;

    memset(&src, 0, sizeof(ts_archive_write_src_t));

    src.fd = -1;
    src.label = name;
    src.data = data;
    src.size = size;
    src.mode = mode;
    src.mtime = mtime;

    if (w->format == TS_ARCHIVE_WRITE_DIR) {
        return ts_archive_write_dir(w, name, &src, err, errlen);
    }

    return ts_archive_write_packed(w, name, &src, err, errlen);
}


int
ts_archive_writer_finish(ts_archive_writer_t *w, char *err, size_t errlen)
{
    int       rc;
    locale_t  utf8, saved;

    if (w->failed) {
        snprintf(err, errlen, "an earlier entry failed: the archive is "
                 "incomplete");
        return -1;
    }

    w->finished = 1;

    if (w->ar == NULL) {
        return 0;
    }

    saved = (locale_t) 0;
    utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t) 0);

    if (utf8 != (locale_t) 0) {
        saved = uselocale(utf8);
    }

    rc = archive_write_close(w->ar);

    if (utf8 != (locale_t) 0) {
        uselocale(saved);
        freelocale(utf8);
    }

    if (rc != ARCHIVE_OK) {
        w->failed = 1;
        snprintf(err, errlen, "cannot finish the archive: %s",
                 archive_error_string(w->ar));
        return -1;
    }

    return 0;
}


void
ts_archive_writer_free(ts_archive_writer_t *w)
{
    if (w == NULL) {
        return;
    }

    if (w->ar != NULL) {
        /* archive_write_free closes an open archive: nothing more to say */
        archive_write_free(w->ar);
    }

    free(w->top);
    free(w->buf);
    free(w);
}


static int
ts_archive_write_src_stat(ts_archive_write_src_t *src, char *err,
    size_t errlen)
{
    struct stat  st;

    if (fstat(src->fd, &st) == -1) {
        snprintf(err, errlen, "cannot stat \"%s\": %s", src->label,
                 strerror(errno));
        return -1;
    }

    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "\"%s\" is not a regular file", src->label);
        return -1;
    }

    src->size = (size_t) st.st_size;
    src->mode = st.st_mode;
    src->mtime = st.st_mtime;

    return 0;
}


static int
ts_archive_write_packed(ts_archive_writer_t *w, const char *name,
    ts_archive_write_src_t *src, char *err, size_t errlen)
{
    int                    rc;
    char                  *path;
    size_t                 len;
    locale_t               utf8, saved;
    struct archive_entry  *entry;

    if (w->failed || w->finished) {
        snprintf(err, errlen, "cannot add \"%s\": the archive is %s", name,
                 w->failed ? "broken by an earlier error" : "finished");
        return -1;
    }

    if (!ts_archive_write_name_ok(name)) {
        snprintf(err, errlen, "invalid entry name \"%s\"", name);
        return -1;
    }

    rc = -1;
    path = NULL;
    entry = NULL;

    /* names are UTF-8: libarchive flags and converts them in a UTF-8 locale */
    saved = (locale_t) 0;
    utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t) 0);

    if (utf8 != (locale_t) 0) {
        saved = uselocale(utf8);
    }

    if (w->top != NULL) {
        len = strlen(w->top) + 1 + strlen(name) + 1;

        path = malloc(len);
        if (path == NULL) {
            snprintf(err, errlen, "out of memory");
            goto failed;
        }

        snprintf(path, len, "%s/%s", w->top, name);
    }

    entry = archive_entry_new();
    if (entry == NULL) {
        snprintf(err, errlen, "out of memory");
        goto failed;
    }

    archive_entry_set_pathname(entry, path ? path : name);
    archive_entry_set_filetype(entry, AE_IFREG);
    archive_entry_set_perm(entry, src->mode & 0777);
    archive_entry_set_size(entry, (la_int64_t) src->size);
    archive_entry_set_mtime(entry, src->mtime, 0);
    archive_entry_set_uid(entry, 0);
    archive_entry_set_gid(entry, 0);

    /* from here on, a failure leaves a half-written entry: no more adds */
    w->failed = 1;

    if (archive_write_header(w->ar, entry) != ARCHIVE_OK) {
        snprintf(err, errlen, "cannot write \"%s\": %s", name,
                 archive_error_string(w->ar));
        goto failed;
    }

    if (ts_archive_write_copy(w, src, -1, name, err, errlen) != 0) {
        goto failed;
    }

    if (archive_write_finish_entry(w->ar) != ARCHIVE_OK) {
        snprintf(err, errlen, "cannot write \"%s\": %s", name,
                 archive_error_string(w->ar));
        goto failed;
    }

    w->failed = 0;
    rc = 0;

failed:

    archive_entry_free(entry);
    free(path);

    if (utf8 != (locale_t) 0) {
        uselocale(saved);
        freelocale(utf8);
    }

    return rc;
}


/*
 * Copies src to the archive (out == -1) or to the file out.  A file is
 * read with pread from offset 0, so a caller's offset does not matter;
 * it must give exactly the size fstat gave.
 */

static int
ts_archive_write_copy(ts_archive_writer_t *w, ts_archive_write_src_t *src,
    int out, const char *name, char *err, size_t errlen)
{
    size_t          done, want;
    ssize_t         n, written;
    const uint8_t  *chunk;

    for (done = 0; done < src->size; done += (size_t) n) {
        want = src->size - done;

        if (src->fd == -1) {
            chunk = (const uint8_t *) src->data + done;
            n = (ssize_t) want;

        } else {
            if (want > TS_ARCHIVE_WRITE_BUF) {
                want = TS_ARCHIVE_WRITE_BUF;
            }

            n = pread(src->fd, w->buf, want, (off_t) done);

            if (n == -1) {
                if (errno == EINTR) {
                    n = 0;
                    continue;
                }

                snprintf(err, errlen, "cannot read \"%s\": %s", src->label,
                         strerror(errno));
                return -1;
            }

            if (n == 0) {
                snprintf(err, errlen, "\"%s\" shrank while it was read",
                         src->label);
                return -1;
            }

            chunk = w->buf;
        }

        if (out != -1) {
            if (ts_archive_write_all(out, chunk, (size_t) n) != 0) {
                snprintf(err, errlen, "cannot write \"%s\": %s", name,
                         strerror(errno));
                return -1;
            }

            continue;
        }

        written = archive_write_data(w->ar, chunk, (size_t) n);

        if (written != n) {
            snprintf(err, errlen, "cannot write \"%s\": %s", name,
                     written < 0 ? archive_error_string(w->ar)
                                 : "short write");
            return -1;
        }
    }

    if (src->fd != -1) {
        /* one byte more means the file grew: the entry would be cut */
        do {
            n = pread(src->fd, w->buf, 1, (off_t) src->size);
        } while (n == -1 && errno == EINTR);

        if (n != 0) {
            snprintf(err, errlen, "\"%s\" %s while it was read", src->label,
                     n > 0 ? "grew" : "failed");
            return -1;
        }
    }

    return 0;
}


static int
ts_archive_write_all(int fd, const void *data, size_t size)
{
    ssize_t      n;
    const char  *p;

    for (p = data; size > 0; p += n, size -= (size_t) n) {
        n = write(fd, p, size);

        if (n == -1) {
            if (errno == EINTR) {
                n = 0;
                continue;
            }

            return -1;
        }
    }

    return 0;
}


/*
 * "no-archive": the file goes to a temp name in its final folder, then is
 * renamed over the final name.  A symbolic link at the final name is
 * replaced (rename acts on the link itself); links on the way are never
 * followed.
 */

static int
ts_archive_write_dir(ts_archive_writer_t *w, const char *name,
    ts_archive_write_src_t *src, char *err, size_t errlen)
{
    int    dirfd, out, rc;
    char  *last, tmp[64];

    if (w->finished) {
        snprintf(err, errlen, "cannot add \"%s\": the archive is finished",
                 name);
        return -1;
    }

    if (!ts_archive_write_name_ok(name)) {
        snprintf(err, errlen, "invalid entry name \"%s\"", name);
        return -1;
    }

    rc = -1;
    out = -1;
    tmp[0] = '\0';

    dirfd = ts_archive_write_dir_open(w, name, &last, err, errlen);
    if (dirfd == -1) {
        return -1;
    }

    for ( ;; ) {
        snprintf(tmp, sizeof(tmp), ".ts_archive_write.%ld.%u",
                 (long) getpid(), w->seq++);

        out = openat(dirfd, tmp,
                     O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                     0600);

        if (out != -1 || errno != EEXIST) {
            break;
        }
    }

    if (out == -1) {
        snprintf(err, errlen, "cannot create a file for \"%s\": %s", name,
                 strerror(errno));
        tmp[0] = '\0';
        goto failed;
    }

    if (ts_archive_write_copy(w, src, out, name, err, errlen) != 0) {
        goto failed;
    }

    /* shutil.copy keeps the permission bits, not the owner or the times */
    if (fchmod(out, src->mode & 0777) == -1) {
        snprintf(err, errlen, "cannot set the mode of \"%s\": %s", name,
                 strerror(errno));
        goto failed;
    }

    if (close(out) == -1) {
        out = -1;
        snprintf(err, errlen, "cannot write \"%s\": %s", name,
                 strerror(errno));
        goto failed;
    }

    out = -1;

    if (renameat(dirfd, tmp, dirfd, last) == -1) {
        snprintf(err, errlen, "cannot write \"%s\": %s", name,
                 strerror(errno));
        goto failed;
    }

    tmp[0] = '\0';
    rc = 0;

failed:

    if (out != -1) {
        close(out);
    }

    if (tmp[0] != '\0') {
        unlinkat(dirfd, tmp, 0);
    }

    if (dirfd != w->fd) {
        close(dirfd);
    }

    return rc;
}


/*
 * Opens (creating them) the folders of name under w->fd without following
 * links; returns the innermost folder's descriptor (w->fd itself for a
 * name without '/') and points *last at name's final component.
 */

static int
ts_archive_write_dir_open(ts_archive_writer_t *w, const char *name,
    char **last, char *err, size_t errlen)
{
    int          cur, next;
    char         component[NAME_MAX + 1];
    size_t       n;
    const char  *p;

    cur = w->fd;

    for (p = name; ; p += n + 1) {
        n = strcspn(p, "/");

        if (p[n] == '\0') {
            break;
        }

        if (n > NAME_MAX) {
            snprintf(err, errlen, "cannot write \"%s\": a folder name is "
                     "too long", name);
            goto failed;
        }

        memcpy(component, p, n);
        component[n] = '\0';

        if (mkdirat(cur, component, 0777) == -1 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create the folder of \"%s\": %s",
                     name, strerror(errno));
            goto failed;
        }

        next = openat(cur, component,
                      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        if (next == -1) {
            snprintf(err, errlen, "cannot write \"%s\": \"%.*s\" %s", name,
                     (int) (p - name + n), name,
                     (errno == ELOOP || errno == ENOTDIR)
                     ? "is not a folder (a file or a symbolic link is "
                       "in the way)"
                     : strerror(errno));
            goto failed;
        }

        if (cur != w->fd) {
            close(cur);
        }

        cur = next;
    }

    *last = (char *) p;

    return cur;

failed:

    if (cur != w->fd) {
        close(cur);
    }

    return -1;
}


/* --- the manifest ------------------------------------------------------ */


void
ts_manifest_created_on(time_t t, char *buf, size_t size)
{
    struct tm  tm;

    if (localtime_r(&t, &tm) == NULL
        || strftime(buf, size, "%d/%m/%Y %H:%M:%S", &tm) == 0)
    {
        snprintf(buf, size, "01/01/1970 00:00:00");
    }
}


char *
ts_manifest_json(const ts_manifest_t *m, size_t *len)
{
    int                     first;
    ts_archive_write_buf_t  b;

    memset(&b, 0, sizeof(ts_archive_write_buf_t));

    first = 1;

    ts_json_buf_lit(&b, "{");
    ts_json_buf_member(&b, &first, "  ", "createdOn", m->created_on, 1);
    ts_json_buf_member(&b, &first, "  ", "runtime", m->runtime, 1);

    ts_json_buf_lit(&b, ",\n  \"model\": {");
    first = 1;

    ts_json_buf_member(&b, &first, "    ", "modelName", m->model_name, 1);
    ts_json_buf_member(&b, &first, "    ", "serializedFile",
                       m->serialized_file, 0);
    ts_json_buf_member(&b, &first, "    ", "handler", m->handler, 1);
    ts_json_buf_member(&b, &first, "    ", "modelFile", m->model_file, 0);
    ts_json_buf_member(&b, &first, "    ", "modelVersion",
                       m->model_version, 0);
    ts_json_buf_member(&b, &first, "    ", "extensions", m->extensions, 0);
    ts_json_buf_member(&b, &first, "    ", "requirementsFile",
                       m->requirements_file, 0);
    ts_json_buf_member(&b, &first, "    ", "configFile", m->config_file, 0);
    ts_json_buf_member(&b, &first, "    ", "envelope", m->envelope, 0);
    ts_json_buf_member(&b, &first, "    ", "description",
                       m->model_description, 0);

    ts_json_buf_lit(&b, "\n  }");
    first = 0;

    ts_json_buf_member(&b, &first, "  ", "archiverVersion",
                       m->archiver_version, 0);
    ts_json_buf_member(&b, &first, "  ", "description", m->description, 0);
    ts_json_buf_add(&b, "\n}", sizeof("\n}"));     /* with the NUL */

    if (b.nomem) {
        free(b.data);
        return NULL;
    }

    *len = b.len - 1;

    return b.data;
}


static void
ts_json_buf_member(ts_archive_write_buf_t *b, int *first,
    const char *indent, const char *key, const char *value, int always)
{
    if (!always && (value == NULL || value[0] == '\0')) {
        return;
    }

    ts_json_buf_add(b, *first ? "\n" : ",\n", *first ? 1 : 2);
    ts_json_buf_add(b, indent, strlen(indent));
    ts_json_buf_str(b, key);
    ts_json_buf_add(b, ": ", 2);
    ts_json_buf_str(b, value ? value : "");

    *first = 0;
}


static void
ts_json_buf_add(ts_archive_write_buf_t *b, const char *s, size_t n)
{
    char    *data;
    size_t   cap;

    if (b->nomem) {
        return;
    }

    if (b->len + n > b->cap) {
        cap = b->cap ? b->cap : 512;

        while (cap < b->len + n) {
            cap *= 2;
        }

        data = realloc(b->data, cap);
        if (data == NULL) {
            b->nomem = 1;
            return;
        }

        b->data = data;
        b->cap = cap;
    }

    memcpy(b->data + b->len, s, n);
    b->len += n;
}


/*
 * Python's json.dumps with ensure_ascii: '"', '\\' and \b \f \n \r \t get
 * their short escapes, anything else outside ' '..'~' becomes \uXXXX
 * (lower-case hex, a surrogate pair above U+FFFF).  Python decoded argv
 * and file names with surrogateescape, so a byte that is not part of a
 * valid UTF-8 sequence comes out as \udcXX.
 */

static void
ts_json_buf_str(ts_archive_write_buf_t *b, const char *s)
{
    char            esc[16];
    size_t          n, len;
    uint32_t        cp, hi, lo;
    const uint8_t  *p;

    ts_json_buf_add(b, "\"", 1);

    p = (const uint8_t *) s;
    len = strlen(s);

    while (len > 0) {
        n = ts_utf8_decode(p, len, &cp);

        if (n == 0) {
            cp = 0xdc00 + *p;
            n = 1;
        }

        p += n;
        len -= n;

        switch (cp) {

        case '"':
            ts_json_buf_add(b, "\\\"", 2);
            continue;

        case '\\':
            ts_json_buf_add(b, "\\\\", 2);
            continue;

        case '\b':
            ts_json_buf_add(b, "\\b", 2);
            continue;

        case '\f':
            ts_json_buf_add(b, "\\f", 2);
            continue;

        case '\n':
            ts_json_buf_add(b, "\\n", 2);
            continue;

        case '\r':
            ts_json_buf_add(b, "\\r", 2);
            continue;

        case '\t':
            ts_json_buf_add(b, "\\t", 2);
            continue;
        }

        if (cp >= 0x20 && cp <= 0x7e) {
            esc[0] = (char) cp;
            ts_json_buf_add(b, esc, 1);

        } else if (cp < 0x10000) {
            ts_json_buf_add(b, esc, snprintf(esc, sizeof(esc), "\\u%04x",
                                             (unsigned) cp));

        } else {
            hi = 0xd800 + ((cp - 0x10000) >> 10);
            lo = 0xdc00 + ((cp - 0x10000) & 0x3ff);
            ts_json_buf_add(b, esc, snprintf(esc, sizeof(esc),
                                             "\\u%04x\\u%04x",
                                             (unsigned) hi, (unsigned) lo));
        }
    }

    ts_json_buf_add(b, "\"", 1);
}


/*
 * One strict UTF-8 sequence at p (no overlong forms, no surrogates,
 * nothing above U+10FFFF, as Python's decoder): its length, or 0.
 */

static size_t
ts_utf8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
    size_t    len, i;
    uint32_t  c, min;

    if (n == 0) {
        return 0;
    }

    c = p[0];

    if (c < 0x80) {
        *cp = c;
        return 1;
    }

    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        c &= 0x1f;
        min = 0x80;

    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        c &= 0x0f;
        min = 0x800;

    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        c &= 0x07;
        min = 0x10000;

    } else {
        return 0;
    }

    if (n < len) {
        return 0;
    }

    for (i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }

        c = (c << 6) | (p[i] & 0x3f);
    }

    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        return 0;
    }

    *cp = c;

    return len;
}
