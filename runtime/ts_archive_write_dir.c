/*
 * ts_archive_write_dir.c: "no-archive", the files copied under the
 * folder "{export}/{model}/" the caller opened (mode kept, mtime not, as
 * upstream's shutil.copy does), the manifest written last.
 *
 * Everything is done with *at() calls under that folder's descriptor,
 * never following a symbolic link, and each file is written to a temp
 * name and renamed over its own: a link planted in the target is
 * replaced, not followed.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "ts_archive_write_int.h"


static int ts_archive_write_dir_tmp(ts_archive_writer_t *w, int dirfd,
    char *tmp, size_t size, const char *name, char *err, size_t errlen);
static int ts_archive_write_dir_open(ts_archive_writer_t *w,
    const char *name, char **last, char *err, size_t errlen);


/*
 * The file goes to a temp name in its final folder, then is renamed over
 * the final name.  A symbolic link at the final name is replaced (rename
 * acts on the link itself); links on the way are never followed.
 */

int
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
    tmp[0] = '\0';

    dirfd = ts_archive_write_dir_open(w, name, &last, err, errlen);
    if (dirfd == -1) {
        return -1;
    }

    out = ts_archive_write_dir_tmp(w, dirfd, tmp, sizeof(tmp), name, err,
                                   errlen);
    if (out == -1) {
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


/* a new temp file in dirfd, its name in tmp (empty on failure) */

static int
ts_archive_write_dir_tmp(ts_archive_writer_t *w, int dirfd, char *tmp,
    size_t size, const char *name, char *err, size_t errlen)
{
    int  out;

    for ( ;; ) {
        snprintf(tmp, size, ".ts_archive_write.%ld.%u", (long) getpid(),
                 w->seq++);

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
    }

    return out;
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
