/*
 * ts_archive_write.c: model archives written with libarchive (zip deflate
 * or stored, tar + gzip) or as plain files under a folder (the manifest's
 * text is ts_manifest_write.c's).
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
#include "ts_json.h"


#define TS_ARCHIVE_WRITE_BUF    65536

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
        clen = ts_json_utf8_decode((const unsigned char *) p, strlen(p),
                                   &cp);

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
