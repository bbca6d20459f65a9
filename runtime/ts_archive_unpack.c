/*
 * ts_archive_unpack.c: an archive read into memory, written out into a
 * private folder (0700, files 0600) for the Python servable, whose
 * handlers import and open files by path; and that folder's removal,
 * also of the folders a killed process left behind.
 * Names were made safe when the archive was read (no "..", no absolute
 * path, no link); the folder is new, so nothing in it can be a planted
 * link either.
 */

#define _GNU_SOURCE           /* nftw's FTW_PHYS, mkdtemp */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ts_archive.h"


static int ts_archive_unpack_file(const char *dir,
    const ts_archive_file_t *f, char *err, size_t errlen);
static int ts_archive_make_parents(char *path, size_t skip, char *err,
    size_t errlen);
static int ts_archive_remove_entry(const char *path, const struct stat *st,
    int flag, struct FTW *ftw);


int
ts_archive_unpack(const ts_archive_t *a, const char *parent,
    const char *prefix, char *dir, size_t dirlen, char *err, size_t errlen)
{
    size_t  i;

    if ((size_t) snprintf(dir, dirlen, "%s/%s-XXXXXX", parent, prefix)
        >= dirlen)
    {
        snprintf(err, errlen, "the unpack folder's name is too long");
        return -1;
    }

    if (mkdtemp(dir) == NULL) {
        snprintf(err, errlen, "cannot make a folder in \"%s\": %s", parent,
                 strerror(errno));
        return -1;
    }

    for (i = 0; i < a->nfiles; i++) {
        if (ts_archive_unpack_file(dir, &a->files[i], err, errlen) != 0) {
            ts_archive_remove_tree(dir);
            return -1;
        }
    }

    return 0;
}


static int
ts_archive_unpack_file(const char *dir, const ts_archive_file_t *f,
    char *err, size_t errlen)
{
    int      fd;
    char     path[4096];
    size_t   done;
    ssize_t  n;

    if (f->data == NULL) {
        snprintf(err, errlen, "\"%s\" was not read", f->name);
        return -1;
    }

    if ((size_t) snprintf(path, sizeof(path), "%s/%s", dir, f->name)
        >= sizeof(path))
    {
        snprintf(err, errlen, "\"%s\": name too long", f->name);
        return -1;
    }

    if (ts_archive_make_parents(path, strlen(dir) + 1, err, errlen) != 0) {
        return -1;
    }

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              0600);
    if (fd == -1) {
        snprintf(err, errlen, "cannot write \"%s\": %s", path,
                 strerror(errno));
        return -1;
    }

    for (done = 0; done < f->size; done += (size_t) n) {
        n = write(fd, f->data + done, f->size - done);

        if (n < 0 && errno == EINTR) {
            n = 0;
            continue;
        }

        if (n <= 0) {
            snprintf(err, errlen, "cannot write \"%s\": %s", path,
                     strerror(errno));
            close(fd);
            return -1;
        }
    }

    if (close(fd) != 0) {
        snprintf(err, errlen, "cannot write \"%s\": %s", path,
                 strerror(errno));
        return -1;
    }

    return 0;
}


/* the folders of path below its first skip bytes, made 0700 */
static int
ts_archive_make_parents(char *path, size_t skip, char *err, size_t errlen)
{
    char  *slash;

    for (slash = strchr(path + skip, '/'); slash != NULL;
         slash = strchr(slash + 1, '/'))
    {
        *slash = '\0';

        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot make the folder \"%s\": %s", path,
                     strerror(errno));
            *slash = '/';
            return -1;
        }

        *slash = '/';
    }

    return 0;
}


void
ts_archive_remove_tree(const char *dir)
{
    /* depth first, never following a link out of the folder */
    (void) nftw(dir, ts_archive_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}


static int
ts_archive_remove_entry(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
    (void) st;
    (void) ftw;

    if (flag == FTW_DP || flag == FTW_D) {
        (void) rmdir(path);

    } else {
        (void) unlink(path);
    }

    return 0;
}


/*
 * "parent/prefix<pid>" and "parent/prefix<pid>-..." of processes that no
 * longer exist: a process killed with SIGKILL never removes its folders.
 * A live pid's folders stay, whoever owns them; so do those a process
 * cannot see the pid of (another PID namespace sharing parent: do not).
 */
int
ts_archive_remove_stale(const char *parent, const char *prefix)
{
    DIR            *d;
    int             removed;
    char            path[4096], *end;
    long            pid;
    size_t          len;
    struct dirent  *e;

    d = opendir(parent);
    if (d == NULL) {
        return 0;
    }

    len = strlen(prefix);
    removed = 0;

    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, len) != 0
            || e->d_name[len] < '0' || e->d_name[len] > '9')
        {
            continue;
        }

        errno = 0;
        pid = strtol(e->d_name + len, &end, 10);

        if ((*end != '\0' && *end != '-') || errno != 0 || pid <= 0
            || pid != (long) (pid_t) pid
            || kill((pid_t) pid, 0) == 0 || errno != ESRCH)
        {
            continue;
        }

        if ((size_t) snprintf(path, sizeof(path), "%s/%s", parent,
                              e->d_name)
            >= sizeof(path))
        {
            continue;
        }

        ts_archive_remove_tree(path);
        removed++;
    }

    closedir(d);

    return removed;
}
