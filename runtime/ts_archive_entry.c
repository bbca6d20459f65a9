/*
 * ts_archive_entry.c: what every entry of an archive goes through, from
 * a zip, a tar or a folder alike: its name made safe (relative, no
 * ".."), the entry and byte limits (counted on bytes actually read), its
 * buffer, and its place in the archive's list of files.  Nothing is ever
 * written to disk, so the checks libarchive's disk writer would do
 * (ARCHIVE_EXTRACT_SECURE_*) are done here.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ts_archive_int.h"


void
ts_archive_error(ts_archive_reader_t *rd, const char *fmt, ...)
{
    va_list  args;

    /* nothing may run before vsnprintf: "%m" reads errno */
    va_start(args, fmt);
    vsnprintf(rd->err, rd->errlen, fmt, args);
    va_end(args);
}


/*
 * "./a//b/" -> "a/b"; with drop_top, the first component goes, as the
 * TorchServe frontend drops it from tgz entries (unless it is the only
 * one).  Absolute names and ".." are refused: a consumer may one day
 * extract these names into a private folder.
 */

char *
ts_archive_clean_name(ts_archive_reader_t *rd, const char *raw,
    int drop_top)
{
    char        *out;
    size_t       len, n, first_end, ncomponents;
    const char  *p;

    if (raw[0] == '/') {
        ts_archive_error(rd, "\"%s\": entry \"%s\" has an absolute path",
                         rd->path, raw);
        return NULL;
    }

    out = malloc(strlen(raw) + 1);
    if (out == NULL) {
        ts_archive_error(rd, "\"%s\": out of memory", rd->path);
        return NULL;
    }

    n = 0;
    first_end = 0;
    ncomponents = 0;

    for (p = raw; *p != '\0'; p += len) {

        if (*p == '/') {
            p++;
            len = 0;
            continue;
        }

        len = strcspn(p, "/");

        if (len == 1 && p[0] == '.') {
            continue;
        }

        if (len == 2 && p[0] == '.' && p[1] == '.') {
            ts_archive_error(rd, "\"%s\": entry \"%s\" has a \"..\" "
                             "component", rd->path, raw);
            free(out);
            return NULL;
        }

        if (n > 0) {
            out[n++] = '/';
        }

        memcpy(out + n, p, len);
        n += len;

        if (++ncomponents == 1) {
            first_end = n;
        }
    }

    out[n] = '\0';

    if (drop_top && ncomponents > 1) {
        memmove(out, out + first_end + 1, n - first_end);
    }

    return out;
}


const char *
ts_archive_type_name(mode_t mode)
{
    switch (mode & S_IFMT) {

    case S_IFLNK:
        return "a symbolic link";

    case S_IFCHR:
        return "a character device";

    case S_IFBLK:
        return "a block device";

    case S_IFIFO:
        return "a FIFO";

    case S_IFSOCK:
        return "a socket";

    case S_IFDIR:
        return "a folder";

    default:
        return "not a regular file";
    }
}


int
ts_archive_count_entry(ts_archive_reader_t *rd)
{
    if (++rd->nentries > rd->limits.max_entries) {
        ts_archive_error(rd, "\"%s\" has more than %zu entries",
                         rd->path, rd->limits.max_entries);
        return -1;
    }

    return 0;
}


/* size: bytes of this entry so far, which rd->total does not hold yet */

int
ts_archive_check_size(ts_archive_reader_t *rd, const char *name,
    size_t size)
{
    if (size > rd->limits.max_entry_size) {
        ts_archive_error(rd, "\"%s\": entry \"%s\" is larger than %zu "
                         "bytes", rd->path, name,
                         rd->limits.max_entry_size);
        return -1;
    }

    /* rd->total never exceeds max_total_size: no underflow */
    if (size > rd->limits.max_total_size - rd->total) {
        ts_archive_error(rd, "\"%s\": entries are larger than %zu bytes in "
                         "total (at entry \"%s\")", rd->path,
                         rd->limits.max_total_size, name);
        return -1;
    }

    return 0;
}


/*
 * Room for at least one more byte.  The first allocation takes the size
 * the header claims plus one (a lie only wastes address space, and the
 * extra byte lets the read that meets the end return 0 without a
 * realloc); later ones double, never past max_entry_size + 1, which is
 * enough to see an entry go over the limit.
 */

int
ts_archive_buf_reserve(ts_archive_reader_t *rd, ts_archive_buf_t *b,
    size_t hint)
{
    size_t          capacity, ceiling;
    unsigned char  *data;

    if (b->size < b->capacity) {
        return 0;
    }

    ceiling = rd->limits.max_entry_size + 1;

    if (b->capacity == 0) {
        capacity = hint + 1;

        if (capacity < 4096) {
            capacity = 4096;
        }

    } else {
        capacity = b->capacity * 2;
    }

    if (capacity > ceiling) {
        capacity = ceiling;
    }

    data = realloc(b->data, capacity + 1);
    if (data == NULL) {
        ts_archive_error(rd, "\"%s\": out of memory (%zu bytes)", rd->path,
                         capacity);
        return -1;
    }

    b->data = data;
    b->capacity = capacity;

    return 0;
}


/*
 * Takes name and data over, whatever happens.  data, when present, has
 * size bytes and room for a NUL after them, which is set here: text files
 * (the manifest, index_to_name.json) can be used as C strings.
 */

int
ts_archive_add(ts_archive_reader_t *rd, char *name, unsigned char *data,
    size_t size)
{
    size_t              nalloc;
    unsigned char      *shrunk;
    ts_archive_t       *a;
    ts_archive_file_t  *files;

    a = rd->archive;

    if (a->nfiles == rd->nalloc) {
        nalloc = rd->nalloc ? rd->nalloc * 2 : 16;

        files = realloc(a->files, nalloc * sizeof(ts_archive_file_t));
        if (files == NULL) {
            ts_archive_error(rd, "\"%s\": out of memory", rd->path);
            free(name);
            free(data);
            return -1;
        }

        a->files = files;
        rd->nalloc = nalloc;
    }

    if (data != NULL) {
        data[size] = '\0';

        /* a header that claimed more than came out: give the rest back */
        shrunk = realloc(data, size + 1);
        if (shrunk != NULL) {
            data = shrunk;
        }
    }

    a->files[a->nfiles].name = name;
    a->files[a->nfiles].data = data;
    a->files[a->nfiles].size = size;
    a->nfiles++;

    rd->total += size;

    return 0;
}


/*
 * Without data, the manifest and YAML files are still read: the
 * manifest's configFile (model-config.yaml) sets the model's defaults,
 * and its name is only known once the manifest, often last, is read.  A
 * sniffing pass, which has them already, keeps nothing.
 */

int
ts_archive_keep(ts_archive_reader_t *rd, const char *name)
{
    size_t  len;

    if (rd->sniff != NULL) {
        return 0;
    }

    if (rd->limits.with_data || strcmp(name, TS_ARCHIVE_MANIFEST) == 0) {
        return 1;
    }

    len = strlen(name);

    return (len > 5 && strcmp(name + len - 5, ".yaml") == 0)
           || (len > 4 && strcmp(name + len - 4, ".yml") == 0);
}
