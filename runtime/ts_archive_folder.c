/*
 * ts_archive_folder.c: a plain folder ("no-archive") read as an archive:
 * walked with *at() calls that never follow a symbolic link, each
 * regular file read (or only stat'ed, or on a sniffing pass streamed to
 * the sniffer) with the same checks and limits as an archive's entries.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "ts_archive_int.h"


static DIR *ts_archive_lone_folder(ts_archive_reader_t *rd, DIR *dir);
static int ts_archive_only_entry(ts_archive_reader_t *rd, DIR *dir,
    char *lone, size_t size);
static int ts_archive_walk(ts_archive_reader_t *rd, DIR *dir,
    const char *prefix, unsigned depth);
static int ts_archive_walk_entry(ts_archive_reader_t *rd, DIR *dir,
    const char *prefix, const char *entry, unsigned depth);
static int ts_archive_walk_folder(ts_archive_reader_t *rd, DIR *dir,
    const char *entry, const char *name, unsigned depth);
static int ts_archive_walk_file(ts_archive_reader_t *rd, DIR *dir,
    const char *entry, char *name);
static int ts_archive_read_regular(ts_archive_reader_t *rd, int fd,
    char *name, int keep);
static int ts_archive_load_regular(ts_archive_reader_t *rd, int fd,
    char *name, off_t st_size);


int
ts_archive_read_folder(ts_archive_reader_t *rd, int fd)
{
    DIR          *dir;
    struct stat   st;

    dir = fdopendir(fd);
    if (dir == NULL) {
        ts_archive_error(rd, "cannot read folder \"%s\": %m", rd->path);
        close(fd);
        return -1;
    }

    if (fstatat(dirfd(dir), "MAR-INF", &st, AT_SYMLINK_NOFOLLOW) == -1
        && errno == ENOENT)
    {
        dir = ts_archive_lone_folder(rd, dir);
        if (dir == NULL) {
            return -1;
        }
    }

    return ts_archive_walk(rd, dir, NULL, 0);
}


/*
 * No MAR-INF but a lone sub-folder: the model is in there, as when a
 * "no-archive" export folder is given instead of the model's own.
 * Returns the folder to walk (the sub-folder, or dir rewound), or NULL
 * with dir closed.
 */

static DIR *
ts_archive_lone_folder(ts_archive_reader_t *rd, DIR *dir)
{
    int          count, sub_fd;
    DIR         *sub;
    char         lone[256];
    struct stat  st;

    count = ts_archive_only_entry(rd, dir, lone, sizeof(lone));

    if (count == -1) {
        closedir(dir);
        return NULL;
    }

    if (count != 1
        || fstatat(dirfd(dir), lone, &st, AT_SYMLINK_NOFOLLOW) == -1
        || !S_ISDIR(st.st_mode))
    {
        rewinddir(dir);
        return dir;
    }

    sub_fd = openat(dirfd(dir), lone,
                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub_fd == -1) {
        ts_archive_error(rd, "cannot open folder \"%s/%s\": %m", rd->path,
                         lone);
        closedir(dir);
        return NULL;
    }

    sub = fdopendir(sub_fd);
    if (sub == NULL) {
        ts_archive_error(rd, "cannot read folder \"%s/%s\": %m", rd->path,
                         lone);
        close(sub_fd);
        closedir(dir);
        return NULL;
    }

    closedir(dir);

    return sub;
}


/* how many entries dir holds (but "." and ".."), the first one in lone */

static int
ts_archive_only_entry(ts_archive_reader_t *rd, DIR *dir, char *lone,
    size_t size)
{
    int             count;
    struct dirent  *de;

    count = 0;

    for ( ;; ) {
        errno = 0;
        de = readdir(dir);
        if (de == NULL) {
            break;
        }

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }

        if (++count == 1) {
            snprintf(lone, size, "%s", de->d_name);
        }
    }

    if (errno != 0) {
        ts_archive_error(rd, "cannot read folder \"%s\": %m", rd->path);
        return -1;
    }

    return count;
}


/* takes dir over; names are prefix/entry, without the folder's own path */

static int
ts_archive_walk(ts_archive_reader_t *rd, DIR *dir, const char *prefix,
    unsigned depth)
{
    int             rc;
    struct dirent  *de;

    rc = 0;

    for ( ;; ) {
        errno = 0;
        de = readdir(dir);

        if (de == NULL) {
            if (errno != 0) {
                ts_archive_error(rd, "\"%s\": cannot read folder \"%s\": %m",
                                 rd->path, prefix ? prefix : ".");
                rc = -1;
            }

            break;
        }

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }

        if (ts_archive_walk_entry(rd, dir, prefix, de->d_name, depth) != 0) {
            rc = -1;
            break;
        }

        if (rd->sniff != NULL && rd->sniff->found) {
            /* a sniffing pass needs nothing past its entry */
            break;
        }
    }

    closedir(dir);

    return rc;
}


static int
ts_archive_walk_entry(ts_archive_reader_t *rd, DIR *dir, const char *prefix,
    const char *entry, unsigned depth)
{
    int          rc;
    char        *name;
    size_t       len;
    struct stat  st;

    len = (prefix ? strlen(prefix) + 1 : 0) + strlen(entry) + 1;

    name = malloc(len);
    if (name == NULL) {
        ts_archive_error(rd, "\"%s\": out of memory", rd->path);
        return -1;
    }

    if (prefix) {
        snprintf(name, len, "%s/%s", prefix, entry);

    } else {
        snprintf(name, len, "%s", entry);
    }

    if (ts_archive_count_entry(rd) != 0) {
        goto failed;
    }

    if (fstatat(dirfd(dir), entry, &st, AT_SYMLINK_NOFOLLOW) == -1) {
        ts_archive_error(rd, "\"%s\": cannot stat \"%s\": %m", rd->path, name);
        goto failed;
    }

    if (S_ISDIR(st.st_mode)) {
        rc = ts_archive_walk_folder(rd, dir, entry, name, depth);
        free(name);
        return rc;
    }

    if (!S_ISREG(st.st_mode)) {
        ts_archive_error(rd, "\"%s\": entry \"%s\" is %s", rd->path, name,
                         ts_archive_type_name(st.st_mode));
        goto failed;
    }

    return ts_archive_walk_file(rd, dir, entry, name);

failed:

    free(name);

    return -1;
}


static int
ts_archive_walk_folder(ts_archive_reader_t *rd, DIR *dir, const char *entry,
    const char *name, unsigned depth)
{
    int   fd;
    DIR  *sub;

    if (depth + 1 >= TS_ARCHIVE_MAX_DEPTH) {
        ts_archive_error(rd, "\"%s\": folder \"%s\" is nested more than %d "
                         "deep", rd->path, name, TS_ARCHIVE_MAX_DEPTH);
        return -1;
    }

    /* O_NOFOLLOW: a symlink swapped in since fstatat is refused */
    fd = openat(dirfd(dir), entry,
                O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd == -1) {
        ts_archive_error(rd, "\"%s\": cannot open folder \"%s\": %m",
                         rd->path, name);
        return -1;
    }

    sub = fdopendir(fd);
    if (sub == NULL) {
        ts_archive_error(rd, "\"%s\": cannot read folder \"%s\": %m",
                         rd->path, name);
        close(fd);
        return -1;
    }

    return ts_archive_walk(rd, sub, name, depth + 1);
}


/* takes name over, whatever happens */

static int
ts_archive_walk_file(ts_archive_reader_t *rd, DIR *dir, const char *entry,
    char *name)
{
    int  fd, rc;

    fd = openat(dirfd(dir), entry,
                O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd == -1) {
        ts_archive_error(rd, "\"%s\": cannot open \"%s\": %m", rd->path,
                         name);
        free(name);
        return -1;
    }

    rc = ts_archive_read_regular(rd, fd, name, ts_archive_keep(rd, name));

    close(fd);

    return rc;
}


/* takes name over, whatever happens */

static int
ts_archive_read_regular(ts_archive_reader_t *rd, int fd, char *name,
    int keep)
{
    int          rc;
    struct stat  st;

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

    if (ts_archive_sniffs(rd, name)) {
        rc = ts_archive_sniff_entry(rd, name, NULL, fd);
        free(name);
        return rc;
    }

    if (!keep) {
        if (ts_archive_check_size(rd, name, (size_t) st.st_size) != 0) {
            goto failed;
        }

        return ts_archive_add(rd, name, NULL, (size_t) st.st_size);
    }

    return ts_archive_load_regular(rd, fd, name, st.st_size);

failed:

    free(name);

    return -1;
}


/* the data read into memory, counted as it comes out; takes name over */

static int
ts_archive_load_regular(ts_archive_reader_t *rd, int fd, char *name,
    off_t st_size)
{
    size_t            hint;
    ssize_t           n;
    ts_archive_buf_t  b;

    memset(&b, 0, sizeof(ts_archive_buf_t));

    hint = (uint64_t) st_size <= rd->limits.max_entry_size
           ? (size_t) st_size : 0;

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
