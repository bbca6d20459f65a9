/*
 * archive_tool_write.c: the archive written into the export folder, as
 * upstream's ModelExportUtils.archive writes it, but never through a
 * link: .mar and .tar.gz go to a temp file renamed over the target once
 * complete, "no-archive" files are written under the model's folder with
 * *at() calls (ts_archive_write_dir.c).
 */

/* renameat2 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "archive_tool.h"


static int at_mkdirs(const char *path, char *err, size_t errlen);
static int at_write_packed(const at_options_t *o, int dirfd, at_job_t *job,
    char *err, size_t errlen);
static int at_write_tmp(const at_options_t *o, int dirfd, const char *target,
    char *tmp, size_t size, char *err, size_t errlen);
static int at_write_rename(const at_options_t *o, int dirfd, const char *tmp,
    const at_job_t *job, char *err, size_t errlen);
static int at_write_folder(const at_options_t *o, int dirfd, at_job_t *job,
    char *err, size_t errlen);
static int at_write_entries(ts_archive_writer_t *w, at_inputs_t *in,
    char *err, size_t errlen);


int
at_write_archive(const at_options_t *o, at_job_t *job, char *err,
    size_t errlen)
{
    int  dirfd, rc;

    if (job->need_mkdir) {
        at_warn(o, "Export directory (%s) does not exist. Creating...",
                o->export_path);

        if (at_mkdirs(o->export_path, err, errlen) != 0) {
            return -1;
        }
    }

    dirfd = open(o->export_path[0] ? o->export_path : ".",
                 O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd == -1) {
        snprintf(err, errlen, "[Errno %d] %s: '%s'", errno, strerror(errno),
                 o->export_path);
        return -1;
    }

    if (job->format == TS_ARCHIVE_WRITE_DIR) {
        rc = at_write_folder(o, dirfd, job, err, errlen);

    } else {
        rc = at_write_packed(o, dirfd, job, err, errlen);
    }

    close(dirfd);

    return rc;
}


/* os.makedirs(path) */

static int
at_mkdirs(const char *path, char *err, size_t errlen)
{
    char    *copy, *p;
    size_t   len;

    copy = strdup(path);
    if (copy == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    len = strlen(copy);

    for (p = copy + 1; p <= copy + len; p++) {
        if (*p != '/' && *p != '\0') {
            continue;
        }

        if (p[-1] == '/') {
            continue;
        }

        *p = '\0';

        if (mkdir(copy, 0777) == -1 && errno != EEXIST) {
            snprintf(err, errlen, "[Errno %d] %s: '%s'", errno,
                     strerror(errno), copy);
            free(copy);
            return -1;
        }

        if (p < copy + len) {
            *p = '/';
        }
    }

    free(copy);

    return 0;
}


/*
 * .mar and .tar.gz: written to a temp file in the export folder, renamed
 * over the target once complete; without -f the rename refuses to replace
 * a target that appeared meanwhile.  A symbolic link at the target is
 * replaced, never written through.
 */

static int
at_write_packed(const at_options_t *o, int dirfd, at_job_t *job, char *err,
    size_t errlen)
{
    int                   fd, rc, tgz;
    char                  tmp[512];
    ts_archive_writer_t  *w;

    rc = -1;
    w = NULL;
    tgz = (job->format == TS_ARCHIVE_WRITE_TGZ);

    fd = at_write_tmp(o, dirfd, job->target, tmp, sizeof(tmp), err, errlen);
    if (fd == -1) {
        return -1;
    }

    w = ts_archive_writer_new(job->format, fd, o->model_name, err, errlen);
    if (w == NULL) {
        goto failed;
    }

    if (at_write_entries(w, &job->in, err, errlen) != 0) {
        goto failed;
    }

    /*
     * zipfile.writestr: now, mode 0600; tarfile.TarInfo: mtime 0, mode
     * 0644; the manifest is the last entry either way
     */
    if (ts_archive_writer_add_data(w, TS_ARCHIVE_MANIFEST_NAME,
                                   job->manifest, job->mlen,
                                   tgz ? 0644 : 0600, tgz ? 0 : job->now,
                                   err, errlen)
        != 0)
    {
        goto failed;
    }

    if (ts_archive_writer_finish(w, err, errlen) != 0) {
        goto failed;
    }

    ts_archive_writer_free(w);
    w = NULL;

    if (close(fd) == -1) {
        fd = -1;
        snprintf(err, errlen, "cannot write %s: %s", job->shown,
                 strerror(errno));
        goto failed;
    }

    fd = -1;

    if (at_write_rename(o, dirfd, tmp, job, err, errlen) != 0) {
        goto failed;
    }

    tmp[0] = '\0';
    rc = 0;

failed:

    ts_archive_writer_free(w);

    if (fd != -1) {
        close(fd);
    }

    if (tmp[0] != '\0') {
        unlinkat(dirfd, tmp, 0);
    }

    return rc;
}


/* a new temp file next to the target, its name in tmp */

static int
at_write_tmp(const at_options_t *o, int dirfd, const char *target, char *tmp,
    size_t size, char *err, size_t errlen)
{
    int       fd;
    unsigned  i;

    fd = -1;

    for (i = 0; i < 1000; i++) {
        snprintf(tmp, size, ".%s.%ld.%u.tmp", target, (long) getpid(), i);

        fd = openat(dirfd, tmp,
                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    0666);

        if (fd != -1 || errno != EEXIST) {
            break;
        }
    }

    if (fd == -1) {
        snprintf(err, errlen, "cannot create a temp file in %s: %s",
                 o->export_path, strerror(errno));
        tmp[0] = '\0';
    }

    return fd;
}


/* tmp over the target: with -f whatever is there, else only if nothing is */

static int
at_write_rename(const at_options_t *o, int dirfd, const char *tmp,
    const at_job_t *job, char *err, size_t errlen)
{
    if (o->force) {
        if (renameat(dirfd, tmp, dirfd, job->target) == -1) {
            snprintf(err, errlen, "cannot write %s: %s", job->shown,
                     strerror(errno));
            return -1;
        }

        return 0;
    }

    if (renameat2(dirfd, tmp, dirfd, job->target, RENAME_NOREPLACE) == 0) {
        return 0;
    }

    if (errno == EEXIST) {
        snprintf(err, errlen, "%s already exists. Please specify "
                 "--force/-f option to overwrite the model archive output "
                 "file. See -h/--help for more details.", job->shown);
        return -1;
    }

    /* a file system without RENAME_NOREPLACE: link() never replaces */
    if ((errno != EINVAL && errno != ENOSYS)
        || linkat(dirfd, tmp, dirfd, job->target, 0) == -1)
    {
        snprintf(err, errlen, "cannot write %s: %s", job->shown,
                 errno == EEXIST ? "it appeared meanwhile" : strerror(errno));
        return -1;
    }

    unlinkat(dirfd, tmp, 0);

    return 0;
}


/*
 * no-archive: "{export}/{model}/", created, or written into with -f as
 * upstream does (files of the same names replaced, others left), but
 * never through a symbolic link.
 */

static int
at_write_folder(const at_options_t *o, int dirfd, at_job_t *job, char *err,
    size_t errlen)
{
    int                   fd, rc;
    mode_t                mask;
    ts_archive_writer_t  *w;

    if (mkdirat(dirfd, o->model_name, 0777) == -1 && errno != EEXIST) {
        snprintf(err, errlen, "[Errno %d] %s: '%s'", errno, strerror(errno),
                 job->shown);
        return -1;
    }

    fd = openat(dirfd, o->model_name,
                O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd == -1) {
        snprintf(err, errlen, "%s: %s", job->shown,
                 (errno == ELOOP || errno == ENOTDIR)
                 ? "exists and is not a folder (a file or a symbolic link)"
                 : strerror(errno));
        return -1;
    }

    rc = -1;

    w = ts_archive_writer_new(TS_ARCHIVE_WRITE_DIR, fd, NULL, err, errlen);
    if (w == NULL) {
        goto failed;
    }

    if (at_write_entries(w, &job->in, err, errlen) != 0) {
        goto failed;
    }

    /* open(..., "w"): 0666 less the umask */
    mask = umask(0);
    umask(mask);

    if (ts_archive_writer_add_data(w, TS_ARCHIVE_MANIFEST_NAME,
                                   job->manifest, job->mlen, 0666 & ~mask, 0,
                                   err, errlen)
        != 0)
    {
        goto failed;
    }

    rc = ts_archive_writer_finish(w, err, errlen);

failed:

    ts_archive_writer_free(w);
    close(fd);

    return rc;
}


static int
at_write_entries(ts_archive_writer_t *w, at_inputs_t *in, char *err,
    size_t errlen)
{
    int          fd, rc;
    size_t       i;
    char         msg[AT_ERRLEN];
    at_entry_t  *e;

    for (i = 0; i < in->n; i++) {
        e = &in->entries[i];

        /* ours is written last; folders have no entries */
        if (e->dir || strcmp(e->name, TS_ARCHIVE_MANIFEST_NAME) == 0) {
            continue;
        }

        fd = e->fd;

        if (fd == -1) {
            /* O_NONBLOCK: a FIFO swapped in since stat must not hang us */
            fd = open(e->path,
                      O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
            if (fd == -1) {
                snprintf(err, errlen, "[Errno %d] %s: '%s'", errno,
                         strerror(errno), e->path);
                return -1;
            }
        }

        rc = ts_archive_writer_add_fd(w, e->name, fd, e->path, msg,
                                      sizeof(msg));

        if (fd != e->fd) {
            close(fd);
        }

        if (rc != 0) {
            snprintf(err, errlen, "%s", msg);
            return -1;
        }
    }

    return 0;
}
