/*
 * ts_archive_write.h: TorchServe model archives written with libarchive,
 * in the four layouts torch-model-archiver 0.12 writes:
 *
 *   "default"     zip, deflate, "{name}.mar", files at the root;
 *   "zip-store"   the same, stored (no compression);
 *   "tgz"         tar + gzip, "{name}.tar.gz", every entry under "{name}/";
 *   "no-archive"  plain files under a folder "{export}/{name}/".
 *
 * Only regular files are written: no folder entries (upstream writes
 * none either), no links.  Entry names are checked here as the reader
 * checks them (relative, '/'-separated, no "." or ".." component, valid
 * UTF-8), so nothing a caller passes can land outside the target.
 *
 * The writer never opens paths of its own for zip and tgz: it writes to a
 * file descriptor the caller opened (the caller picks the temp file and
 * the rename).  For "no-archive" it works under a folder descriptor with
 * *at() calls that never follow a symbolic link, and replaces each file
 * by a rename, so a link planted in the target is replaced, not followed.
 */

#ifndef TS_ARCHIVE_WRITE_H
#define TS_ARCHIVE_WRITE_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "ts_archive.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    TS_ARCHIVE_WRITE_ZIP = 0,       /* "default" */
    TS_ARCHIVE_WRITE_ZIP_STORE,     /* "zip-store" */
    TS_ARCHIVE_WRITE_TGZ,           /* "tgz" */
    TS_ARCHIVE_WRITE_DIR            /* "no-archive" */
} ts_archive_write_format_e;


typedef struct ts_archive_writer_s  ts_archive_writer_t;


#define TS_ARCHIVE_MANIFEST_NAME  "MAR-INF/MANIFEST.json"

/* what upstream's manifest says; ours writes the same */
#define TS_ARCHIVER_VERSION       "0.12.0"


/* "default", "zip-store", "tgz", "no-archive" -> format; -1 if unknown */
int ts_archive_write_format(const char *name);

/* ".mar", ".mar", ".tar.gz", "": the export name is {model}{suffix} */
const char *ts_archive_write_suffix(ts_archive_write_format_e format);

/*
 * 1 if name may be an entry: not empty, relative, no empty, "." or ".."
 * component, no trailing '/', valid UTF-8 without control characters.
 */
int ts_archive_write_name_ok(const char *name);

/*
 * fd: for zip and tgz, the output file, written from its current offset
 * and left open; for "no-archive", a folder (opened O_DIRECTORY) that
 * entries are created under, left open.  top: the folder every tgz entry
 * goes under (the model name; ignored by the other formats).  Returns
 * NULL with a message in err.
 */
ts_archive_writer_t *ts_archive_writer_new(ts_archive_write_format_e format,
    int fd, const char *top, char *err, size_t errlen);

/*
 * Adds the regular file open on fd (read from offset 0 to its end) as
 * name, with its permission bits and mtime.  A file whose size changes
 * while it is read is an error: the entry would not be what was stat'ed.
 * label names the source in messages (its path).
 */
int ts_archive_writer_add_fd(ts_archive_writer_t *w, const char *name,
    int fd, const char *label, char *err, size_t errlen);

/* adds size bytes of data as name, with permission bits mode and mtime */
int ts_archive_writer_add_data(ts_archive_writer_t *w, const char *name,
    const void *data, size_t size, mode_t mode, time_t mtime, char *err,
    size_t errlen);

/*
 * Writes the end of the archive (zip central directory, tar end blocks,
 * gzip trailer).  Non-zero with a message if anything failed; the output
 * must then be thrown away.
 */
int ts_archive_writer_finish(ts_archive_writer_t *w, char *err,
    size_t errlen);

/* frees w; an unfinished archive is abandoned (the caller removes it) */
void ts_archive_writer_free(ts_archive_writer_t *w);

/*
 * The manifest as upstream's Python writes it (json.dumps(..., indent=2),
 * by ts_json_dump_value): keys in upstream's order, "createdOn",
 * "runtime", "model" {"modelName", "serializedFile", "handler",
 * "modelFile", "modelVersion", "extensions", "requirementsFile",
 * "configFile"}, "archiverVersion"; optional keys that are NULL or empty
 * are left out (modelName, handler, createdOn and runtime are always
 * written); strings ASCII-escaped as Python does (lower-case \u00XX,
 * surrogate pairs); no trailing newline.  A byte that is not part of
 * valid UTF-8 is written as \u00XX, as ts_json_dump_value writes it
 * everywhere (Python, which reads argv with surrogateescape, writes a
 * lone \udcXX that jansson refuses).  The fields upstream never writes
 * (description, envelope) come last in their object when set.  Returns
 * a malloc'd NUL-terminated text and its length, or NULL when out of
 * memory.
 */
char *ts_manifest_json(const ts_manifest_t *m, size_t *len);

/* "%d/%m/%Y %H:%M:%S" of t in local time, as upstream's createdOn */
void ts_manifest_created_on(time_t t, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* TS_ARCHIVE_WRITE_H */
