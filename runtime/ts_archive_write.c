/*
 * ts_archive_write.c: the archive writer's API (see ts_archive_write.h):
 * entry names checked, sources stat'ed and copied, each entry handed to
 * ts_archive_write_packed.c (zip, tgz) or ts_archive_write_dir.c
 * ("no-archive").  The manifest's text is ts_manifest_write.c's.
 */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <archive.h>

#include "ts_archive_write_int.h"
#include "ts_json.h"


static int ts_archive_write_add(ts_archive_writer_t *w, const char *name,
    ts_archive_write_src_t *src, char *err, size_t errlen);
static int ts_archive_write_src_stat(ts_archive_write_src_t *src,
    char *err, size_t errlen);
static ssize_t ts_archive_write_chunk(ts_archive_writer_t *w,
    ts_archive_write_src_t *src, size_t done, const uint8_t **chunk,
    char *err, size_t errlen);
static int ts_archive_write_all(int fd, const void *data, size_t size);


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

    if (ts_archive_write_packed_open(w, top, err, errlen) != 0) {
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

    return ts_archive_write_add(w, name, &src, err, errlen);
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

    return ts_archive_write_add(w, name, &src, err, errlen);
}


int
ts_archive_writer_finish(ts_archive_writer_t *w, char *err, size_t errlen)
{
    if (w->failed) {
        snprintf(err, errlen, "an earlier entry failed: the archive is "
                 "incomplete");
        return -1;
    }

    w->finished = 1;

    if (w->ar == NULL) {
        return 0;
    }

    return ts_archive_write_packed_close(w, err, errlen);
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
ts_archive_write_add(ts_archive_writer_t *w, const char *name,
    ts_archive_write_src_t *src, char *err, size_t errlen)
{
    if (w->format == TS_ARCHIVE_WRITE_DIR) {
        return ts_archive_write_dir(w, name, src, err, errlen);
    }

    return ts_archive_write_packed(w, name, src, err, errlen);
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


int
ts_archive_write_copy(ts_archive_writer_t *w, ts_archive_write_src_t *src,
    int out, const char *name, char *err, size_t errlen)
{
    size_t          done;
    ssize_t         n, written;
    const uint8_t  *chunk;

    for (done = 0; done < src->size; done += (size_t) n) {
        n = ts_archive_write_chunk(w, src, done, &chunk, err, errlen);
        if (n == -1) {
            return -1;
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


/* the next bytes of src from offset done: all of them, or a buffer full */

static ssize_t
ts_archive_write_chunk(ts_archive_writer_t *w, ts_archive_write_src_t *src,
    size_t done, const uint8_t **chunk, char *err, size_t errlen)
{
    size_t   want;
    ssize_t  n;

    want = src->size - done;

    if (src->fd == -1) {
        *chunk = (const uint8_t *) src->data + done;
        return (ssize_t) want;
    }

    if (want > TS_ARCHIVE_WRITE_BUF) {
        want = TS_ARCHIVE_WRITE_BUF;
    }

    do {
        n = pread(src->fd, w->buf, want, (off_t) done);
    } while (n == -1 && errno == EINTR);

    if (n == -1) {
        snprintf(err, errlen, "cannot read \"%s\": %s", src->label,
                 strerror(errno));
        return -1;
    }

    if (n == 0) {
        snprintf(err, errlen, "\"%s\" shrank while it was read",
                 src->label);
        return -1;
    }

    *chunk = w->buf;

    return n;
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
