/*
 * ts_archive_write_int.h: what the writer's files share, private to
 * ts_archive_write.c (the API, names, copying a source),
 * ts_archive_write_packed.c (zip and tgz through libarchive) and
 * ts_archive_write_dir.c ("no-archive" files under a folder).
 */

#ifndef TS_ARCHIVE_WRITE_INT_H
#define TS_ARCHIVE_WRITE_INT_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "ts_archive_write.h"


#define TS_ARCHIVE_WRITE_BUF    65536


struct archive;

struct ts_archive_writer_s {
    ts_archive_write_format_e   format;
    int                         fd;
    struct archive             *ar;         /* zip and tgz */
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


/* zip and tgz: w->ar set up for w->format, writing to w->fd */
int ts_archive_write_packed_open(ts_archive_writer_t *w, const char *top,
    char *err, size_t errlen);

/* one entry of a zip or tgz; a failure breaks the archive (w->failed) */
int ts_archive_write_packed(ts_archive_writer_t *w, const char *name,
    ts_archive_write_src_t *src, char *err, size_t errlen);

/* the zip central directory, the tar end blocks, the gzip trailer */
int ts_archive_write_packed_close(ts_archive_writer_t *w, char *err,
    size_t errlen);

/* one "no-archive" file under the folder w->fd */
int ts_archive_write_dir(ts_archive_writer_t *w, const char *name,
    ts_archive_write_src_t *src, char *err, size_t errlen);

/*
 * Copies src to the archive (out == -1) or to the file out.  A file is
 * read with pread from offset 0, so a caller's offset does not matter;
 * it must give exactly the size fstat gave.
 */
int ts_archive_write_copy(ts_archive_writer_t *w,
    ts_archive_write_src_t *src, int out, const char *name, char *err,
    size_t errlen);

#endif /* TS_ARCHIVE_WRITE_INT_H */
