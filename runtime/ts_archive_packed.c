/*
 * ts_archive_packed.c: zip (".mar") and tar archives, gzip'ed or not,
 * read with libarchive; each entry is checked (name, type, limits) before
 * its data is read (or, on a sniffing pass, streamed to the sniffer), and
 * its bytes are counted as they come out.
 */

#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <archive.h>
#include <archive_entry.h>

#include "ts_archive_int.h"


static struct archive *ts_archive_packed_open(ts_archive_reader_t *rd,
    int fd, int zip, int gzip);
static int ts_archive_read_entry(ts_archive_reader_t *rd, struct archive *ar,
    struct archive_entry *entry, int drop_top);
static int ts_archive_read_entry_data(ts_archive_reader_t *rd,
    struct archive *ar, struct archive_entry *entry, char *name, int keep);
static int ts_archive_skip_entry(ts_archive_reader_t *rd, struct archive *ar,
    char *name, la_int64_t header_size);
static int ts_archive_count_entry_data(ts_archive_reader_t *rd,
    struct archive *ar, char *name);
static int ts_archive_load_entry(ts_archive_reader_t *rd, struct archive *ar,
    char *name, la_int64_t header_size);


int
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

    ar = ts_archive_packed_open(rd, fd, zip, gzip);
    if (ar == NULL) {
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

        if (rd->sniff != NULL && rd->sniff->found) {
            /* a sniffing pass needs nothing past its entry */
            break;
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


static struct archive *
ts_archive_packed_open(ts_archive_reader_t *rd, int fd, int zip, int gzip)
{
    struct archive  *ar;

    ar = archive_read_new();
    if (ar == NULL) {
        ts_archive_error(rd, "\"%s\": out of memory", rd->path);
        return NULL;
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
        archive_read_free(ar);
        return NULL;
    }

    return ar;
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
    int         rc;
    la_int64_t  header_size;

    if (ts_archive_sniffs(rd, name)) {
        rc = ts_archive_sniff_entry(rd, name, ar, -1);
        free(name);
        return rc;
    }

    header_size = archive_entry_size_is_set(entry) ? archive_entry_size(entry)
                                                   : -1;

    if (!keep && header_size >= 0) {
        return ts_archive_skip_entry(rd, ar, name, header_size);
    }

    if (!keep) {
        return ts_archive_count_entry_data(rd, ar, name);
    }

    return ts_archive_load_entry(rd, ar, name, header_size);
}


/*
 * Nothing is kept, so a lying header costs no memory: trust it and skip
 * the data (zip seeks past it).  With data, bytes are counted.  Takes
 * name over.
 */

static int
ts_archive_skip_entry(ts_archive_reader_t *rd, struct archive *ar,
    char *name, la_int64_t header_size)
{
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

failed:

    free(name);

    return -1;
}


/* no size in the header: count what comes out, keep none of it */

static int
ts_archive_count_entry_data(ts_archive_reader_t *rd, struct archive *ar,
    char *name)
{
    size_t       size, end;
    ssize_t      n;
    la_int64_t   offset;
    const void  *block;

    size = 0;

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

        if (end > size) {
            size = end;
        }

        if (ts_archive_check_size(rd, name, size) != 0) {
            goto failed;
        }
    }

    return ts_archive_add(rd, name, NULL, size);

failed:

    free(name);

    return -1;
}


/* the data read into memory, counted as it comes out; takes name over */

static int
ts_archive_load_entry(ts_archive_reader_t *rd, struct archive *ar,
    char *name, la_int64_t header_size)
{
    size_t            hint;
    ssize_t           n;
    ts_archive_buf_t  b;

    memset(&b, 0, sizeof(ts_archive_buf_t));

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
