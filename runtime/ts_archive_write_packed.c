/*
 * ts_archive_write_packed.c: zip (deflate or stored) and tar + gzip
 * archives written through libarchive to the caller's descriptor.
 *
 * As upstream's torch-model-archiver 0.12 writes them:
 *   - zip: one entry per file, no folder entries, the manifest last;
 *     Python's zipfile sets the UTF-8 flag on non-ASCII names (libarchive
 *     does in a UTF-8 locale, hence the C.UTF-8 switch around each call);
 *   - tgz: Python's tarfile in pax format, gzip level 9, each entry
 *     "{model}/{name}", the manifest last, with mode 0644 and mtime 0 (a
 *     bare TarInfo); we use libarchive's restricted pax (ustar unless a
 *     name needs more), owner 0:0 without names.
 */

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "ts_archive_write_int.h"


static int ts_archive_write_set_format(ts_archive_writer_t *w, char *err,
    size_t errlen);
static struct archive_entry *ts_archive_write_entry(ts_archive_writer_t *w,
    const char *name, ts_archive_write_src_t *src, char *err,
    size_t errlen);
static locale_t ts_archive_write_utf8_enter(locale_t *saved);
static void ts_archive_write_utf8_leave(locale_t utf8, locale_t saved);


int
ts_archive_write_packed_open(ts_archive_writer_t *w, const char *top,
    char *err, size_t errlen)
{
    if (w->format == TS_ARCHIVE_WRITE_TGZ) {
        if (top == NULL || strchr(top, '/') != NULL
            || !ts_archive_write_name_ok(top))
        {
            snprintf(err, errlen, "invalid top folder \"%s\" for a tgz "
                     "archive", top ? top : "(null)");
            return -1;
        }

        w->top = strdup(top);
        if (w->top == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }

    w->ar = archive_write_new();
    if (w->ar == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    if (ts_archive_write_set_format(w, err, errlen) != 0) {
        return -1;
    }

    /* no padding after the last byte: a zip ends at its central directory */
    if (archive_write_set_bytes_in_last_block(w->ar, 1) != ARCHIVE_OK
        || archive_write_open_fd(w->ar, w->fd) != ARCHIVE_OK)
    {
        snprintf(err, errlen, "%s", archive_error_string(w->ar));
        return -1;
    }

    return 0;
}


static int
ts_archive_write_set_format(ts_archive_writer_t *w, char *err,
    size_t errlen)
{
    int  rc;

    switch (w->format) {

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
        snprintf(err, errlen, "unknown archive format %d", (int) w->format);
        return -1;
    }

    if (rc != ARCHIVE_OK) {
        snprintf(err, errlen, "%s", archive_error_string(w->ar));
        return -1;
    }

    return 0;
}


int
ts_archive_write_packed(ts_archive_writer_t *w, const char *name,
    ts_archive_write_src_t *src, char *err, size_t errlen)
{
    int                    rc;
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

    /* names are UTF-8: libarchive flags and converts them in a UTF-8 locale */
    utf8 = ts_archive_write_utf8_enter(&saved);

    entry = ts_archive_write_entry(w, name, src, err, errlen);
    if (entry == NULL) {
        goto failed;
    }

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
    ts_archive_write_utf8_leave(utf8, saved);

    return rc;
}


/* a regular file's header: "{top}/{name}" for tgz, owner 0:0 */

static struct archive_entry *
ts_archive_write_entry(ts_archive_writer_t *w, const char *name,
    ts_archive_write_src_t *src, char *err, size_t errlen)
{
    char                  *path;
    size_t                 len;
    struct archive_entry  *entry;

    path = NULL;

    if (w->top != NULL) {
        len = strlen(w->top) + 1 + strlen(name) + 1;

        path = malloc(len);
        if (path == NULL) {
            snprintf(err, errlen, "out of memory");
            return NULL;
        }

        snprintf(path, len, "%s/%s", w->top, name);
    }

    entry = archive_entry_new();
    if (entry == NULL) {
        snprintf(err, errlen, "out of memory");
        free(path);
        return NULL;
    }

    /* the entry keeps a copy of the name */
    archive_entry_set_pathname(entry, path ? path : name);
    archive_entry_set_filetype(entry, AE_IFREG);
    archive_entry_set_perm(entry, src->mode & 0777);
    archive_entry_set_size(entry, (la_int64_t) src->size);
    archive_entry_set_mtime(entry, src->mtime, 0);
    archive_entry_set_uid(entry, 0);
    archive_entry_set_gid(entry, 0);

    free(path);

    return entry;
}


int
ts_archive_write_packed_close(ts_archive_writer_t *w, char *err,
    size_t errlen)
{
    int       rc;
    locale_t  utf8, saved;

    utf8 = ts_archive_write_utf8_enter(&saved);

    rc = archive_write_close(w->ar);

    ts_archive_write_utf8_leave(utf8, saved);

    if (rc != ARCHIVE_OK) {
        w->failed = 1;
        snprintf(err, errlen, "cannot finish the archive: %s",
                 archive_error_string(w->ar));
        return -1;
    }

    return 0;
}


/*
 * C.UTF-8 for LC_CTYPE, in this thread only (the caller's locale may be
 * "C", as nginx's is); returns the locale to give to _leave, or 0 when
 * there is none to switch to.
 */

static locale_t
ts_archive_write_utf8_enter(locale_t *saved)
{
    locale_t  utf8;

    *saved = (locale_t) 0;
    utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t) 0);

    if (utf8 != (locale_t) 0) {
        *saved = uselocale(utf8);
    }

    return utf8;
}


static void
ts_archive_write_utf8_leave(locale_t utf8, locale_t saved)
{
    if (utf8 != (locale_t) 0) {
        uselocale(saved);
        freelocale(utf8);
    }
}
