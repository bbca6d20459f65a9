/*
 * ts_archive_sniff.c: on a sniffing pass (ts_archive_sniff_path), the
 * serialized file's bytes streamed to the TorchScript sniffer, 64 KB at
 * a time, from the outer zip or tar entry or from a folder's file, and
 * counted against the limits as any entry's bytes are: memory stays flat
 * whatever the file's size.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>

#include "ts_archive_int.h"


typedef struct {
    ts_archive_reader_t  *rd;
    const char           *name;
    struct archive       *ar;       /* the outer archive, or NULL: fd */
    int                   fd;
    size_t                size;     /* bytes read so far */
    unsigned char         block[TS_ARCHIVE_BLOCK_SIZE];
} ts_archive_stream_t;


static ssize_t ts_archive_stream_read(void *data, const void **block);
static ssize_t ts_archive_stream_pull(ts_archive_stream_t *s,
    unsigned char *buf, size_t size);


int
ts_archive_sniffs(ts_archive_reader_t *rd, const char *name)
{
    return rd->sniff != NULL
           && !rd->sniff->found
           && strcmp(name, rd->sniff->name) == 0;
}


int
ts_archive_sniff_entry(ts_archive_reader_t *rd, const char *name,
    struct archive *ar, int fd)
{
    ts_archive_sniff_t   *sniff;
    ts_archive_stream_t  *s;

    /* 64 KB: on the heap, not on a thread pool's stack */
    s = malloc(sizeof(ts_archive_stream_t));
    if (s == NULL) {
        ts_archive_error(rd, "\"%s\": out of memory", rd->path);
        return -1;
    }

    s->rd = rd;
    s->name = name;
    s->ar = ar;
    s->fd = fd;
    s->size = 0;

    sniff = rd->sniff;
    sniff->found = 1;
    sniff->kind = ts_archive_sniff_torch(ts_archive_stream_read, s,
                                         sniff->why, sizeof(sniff->why));

    free(s);

    return sniff->kind == TS_ARCHIVE_SNIFF_FAILED ? -1 : 0;
}


/* full blocks but the last: the sniffer finds the magic in the first */

static ssize_t
ts_archive_stream_read(void *data, const void **block)
{
    size_t                n;
    ssize_t               got;
    ts_archive_stream_t  *s = data;

    n = 0;

    while (n < sizeof(s->block)) {
        got = ts_archive_stream_pull(s, s->block + n, sizeof(s->block) - n);

        if (got == 0) {
            break;
        }

        if (got < 0) {
            return -1;
        }

        n += (size_t) got;
    }

    s->size += n;

    /* counted as it comes out: a header that lied is caught here */
    if (ts_archive_check_size(s->rd, s->name, s->size) != 0) {
        return -1;
    }

    *block = s->block;

    return (ssize_t) n;
}


static ssize_t
ts_archive_stream_pull(ts_archive_stream_t *s, unsigned char *buf,
    size_t size)
{
    ssize_t  n;

    if (s->ar != NULL) {
        n = archive_read_data(s->ar, buf, size);

        if (n < 0) {
            ts_archive_error(s->rd, "\"%s\": entry \"%s\": %s", s->rd->path,
                             s->name, archive_error_string(s->ar));
            return -1;
        }

        return n;
    }

    for ( ;; ) {
        n = read(s->fd, buf, size);

        if (n >= 0) {
            return n;
        }

        if (errno != EINTR) {
            ts_archive_error(s->rd, "\"%s\": cannot read \"%s\": %m",
                             s->rd->path, s->name);
            return -1;
        }
    }
}
