/*
 * ts_archive.h: TorchServe model archives read into memory with libarchive.
 *
 * Layouts (as torch-model-archiver writes them):
 *   - ".mar" (or any regular file that is a zip): zip, deflate or stored,
 *     files at the root, MAR-INF/MANIFEST.json;
 *   - ".tar.gz" / ".tgz": tar + gzip with every entry under a top folder
 *     named after the model; the first path component is dropped;
 *   - a plain folder ("no-archive"); a folder holding only one
 *     sub-folder (and no MAR-INF) is descended into.
 *
 * Hostile archives are refused, never half-read: absolute paths, ".."
 * components, links (symbolic or hard), anything that is not a regular
 * file or a folder, more than max_entries entries, an entry or a total
 * over the byte limits (counted on bytes actually decompressed).
 */

#ifndef TS_ARCHIVE_H
#define TS_ARCHIVE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    TS_ARCHIVE_ZIP = 0,
    TS_ARCHIVE_TGZ,
    TS_ARCHIVE_DIR
} ts_archive_format_e;


/* MAR-INF/MANIFEST.json; absent fields are NULL (all malloc'd) */
typedef struct {
    char  *created_on;          /* "createdOn" */
    char  *runtime;             /* "runtime" */
    char  *archiver_version;    /* "archiverVersion" */
    char  *description;         /* "description" */
    char  *model_name;          /* "model": {"modelName" */
    char  *model_version;       /*           "modelVersion" */
    char  *serialized_file;     /*           "serializedFile" */
    char  *handler;             /*           "handler" */
    char  *model_file;          /*           "modelFile" */
    char  *extensions;          /*           "extensions" */
    char  *requirements_file;   /*           "requirementsFile" */
    char  *config_file;         /*           "configFile" */
    char  *envelope;            /*           "envelope" */
    char  *model_description;   /*           "description" */
} ts_manifest_t;


typedef struct {
    char           *name;       /* relative path, '/'-separated, no top folder */
    unsigned char  *data;       /* NULL when opened without data */
    size_t          size;
} ts_archive_file_t;


typedef struct {
    size_t  max_entry_size;     /* bytes; 0: TS_ARCHIVE_DEFAULT_MAX_ENTRY */
    size_t  max_total_size;     /* bytes; 0: TS_ARCHIVE_DEFAULT_MAX_TOTAL */
    size_t  max_entries;        /* 0: TS_ARCHIVE_DEFAULT_MAX_ENTRIES */
    int     with_data;          /* 0: names, sizes, manifest and YAML only */
} ts_archive_limits_t;

#define TS_ARCHIVE_DEFAULT_MAX_ENTRY    ((size_t) 4 << 30)
#define TS_ARCHIVE_DEFAULT_MAX_TOTAL    ((size_t) 8 << 30)
#define TS_ARCHIVE_DEFAULT_MAX_ENTRIES  10000


typedef struct {
    char                 *path;       /* as given to ts_archive_open */
    ts_archive_format_e   format;
    ts_manifest_t         manifest;
    ts_archive_file_t    *files;
    size_t                nfiles;
    ts_archive_limits_t   limits;     /* as opened, 0s as defaults */
} ts_archive_t;


/*
 * Opens path (file or folder), checks every entry, parses the manifest
 * and, with limits->with_data, reads every file into memory (the manifest
 * is always read).  Files are sorted by name; loaded data is followed by
 * a NUL (not counted in size); without data, sizes are the headers'.  limits may be NULL (defaults, with data).  Returns
 * NULL with a message naming the path and the cause in err.
 */
ts_archive_t *ts_archive_open(const char *path,
    const ts_archive_limits_t *limits, char *err, size_t errlen);

void ts_archive_free(ts_archive_t *a);

/* exact relative name; NULL if absent */
const ts_archive_file_t *ts_archive_find(const ts_archive_t *a,
    const char *name);

/*
 * Checks that the archive can be served without Python: a serializedFile
 * is named and present, it is not an eager-mode model (a modelFile, or a
 * torch.save state_dict), and it is a TorchScript file (a zip with code/
 * or constants.pkl).  The eager message says the model must be
 * TorchScript and that "archive_tool --export-torchscript" converts it.
 * When a was opened without data, the serializedFile is read again from
 * a->path, under a->limits, and streamed through the check 64 KB at a
 * time: memory stays flat whatever its size, but the call does I/O (a
 * pass through the file) and belongs in nginx -t or a thread.
 */
int ts_archive_check_torchscript(const ts_archive_t *a, char *err,
    size_t errlen);

/*
 * Writes an archive opened with its data into a new private folder
 * "parent/prefix-XXXXXX" (0700; files 0600); dir gets its path.
 */
int ts_archive_unpack(const ts_archive_t *a, const char *parent,
    const char *prefix, char *dir, size_t dirlen, char *err, size_t errlen);

/* removes a folder made by ts_archive_unpack, never following links */
void ts_archive_remove_tree(const char *dir);

/*
 * Removes "parent/prefix<pid>[-...]" of pids that no longer run (a
 * SIGKILLed process's folders); the number removed. Does I/O: a thread.
 */
int ts_archive_remove_stale(const char *parent, const char *prefix);

/* parses MANIFEST.json text; non-zero with a message on error */
int ts_manifest_parse(const char *json, size_t len, ts_manifest_t *m,
    char *err, size_t errlen);

void ts_manifest_clear(ts_manifest_t *m);

#ifdef __cplusplus
}
#endif

#endif /* TS_ARCHIVE_H */
