/*
 * ts_archive_int.h: what the reader's files share, private to
 * ts_archive.c (the API, format detection, the manifest),
 * ts_archive_packed.c (zip and tar through libarchive),
 * ts_archive_folder.c (a plain folder), ts_archive_entry.c (names,
 * limits and the file list), ts_archive_torch.c (is it TorchScript) and
 * ts_archive_sniff.c (a serialized file's bytes streamed to its sniffer).
 */

#ifndef TS_ARCHIVE_INT_H
#define TS_ARCHIVE_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ts_archive.h"


#define TS_ARCHIVE_MANIFEST     "MAR-INF/MANIFEST.json"
#define TS_ARCHIVE_BLOCK_SIZE   65536

/* folders: bounds the recursion and the folders held open at once */
#define TS_ARCHIVE_MAX_DEPTH    64

/* keeps "limit + 1" and "total + size" far from overflowing */
#define TS_ARCHIVE_MAX_LIMIT    (SIZE_MAX / 4)


struct archive;


/* what a serializedFile is, told from the entries of its own zip */
typedef enum {
    TS_ARCHIVE_TORCHSCRIPT = 0,
    TS_ARCHIVE_STATE_DICT,      /* torch.save: data.pkl, no code */
    TS_ARCHIVE_NOT_TORCHSCRIPT, /* not a zip, or neither layout */
    TS_ARCHIVE_SNIFF_FAILED     /* its bytes could not be read */
} ts_archive_torch_kind_e;


/*
 * The bytes of a serialized file, a block at a time, as libarchive's read
 * callbacks give them: the block's size, 0 at the end, -1 on error (the
 * source has the message).  Every block but the last is full, so the
 * first one holds the magic unless the file is shorter.
 */
typedef ssize_t (*ts_archive_read_pt)(void *data, const void **block);


/* a pass over the archive that streams one entry to the sniffer */
typedef struct {
    const char               *name;     /* the serializedFile */
    int                       found;
    ts_archive_torch_kind_e   kind;
    char                      why[256]; /* for TS_ARCHIVE_NOT_TORCHSCRIPT */
} ts_archive_sniff_t;


/* one ts_archive_open call, or one sniffing pass */
typedef struct {
    const char           *path;
    ts_archive_limits_t   limits;
    ts_archive_t         *archive;
    size_t                nalloc;   /* of archive->files */
    size_t                nentries; /* every entry seen, folders too */
    size_t                total;    /* bytes of the entries accepted */
    char                 *err;
    size_t                errlen;
    ts_archive_sniff_t   *sniff;    /* a sniffing pass: nothing is kept */
} ts_archive_reader_t;


/* the data of one entry as it is read */
typedef struct {
    unsigned char  *data;
    size_t          size;
    size_t          capacity;       /* usable; one more byte holds a NUL */
} ts_archive_buf_t;


/* "%m" is errno's text: nothing may run between the failure and this */
void ts_archive_error(ts_archive_reader_t *rd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* a zip (zip), or a tar, gzip'ed or not; every entry checked and added */
int ts_archive_read_packed(ts_archive_reader_t *rd, int fd, int zip,
    int gzip);

/* a plain folder, walked; takes fd over */
int ts_archive_read_folder(ts_archive_reader_t *rd, int fd);

/*
 * A raw entry name made relative, or NULL with the error set: "./a//b/"
 * -> "a/b"; absolute names and ".." are refused; with drop_top, the
 * first component goes.  malloc'd.
 */
char *ts_archive_clean_name(ts_archive_reader_t *rd, const char *raw,
    int drop_top);

/* "a symbolic link", "a FIFO", ...: for messages */
const char *ts_archive_type_name(mode_t mode);

/* one more entry, folders too: refused past max_entries */
int ts_archive_count_entry(ts_archive_reader_t *rd);

/* size bytes of the entry name so far: refused past either byte limit */
int ts_archive_check_size(ts_archive_reader_t *rd, const char *name,
    size_t size);

/* room for at least one more byte in b; hint: the size a header claims */
int ts_archive_buf_reserve(ts_archive_reader_t *rd, ts_archive_buf_t *b,
    size_t hint);

/* appends a file; takes name and data (NULL: not kept) over */
int ts_archive_add(ts_archive_reader_t *rd, char *name, unsigned char *data,
    size_t size);

/* 1 if the data of the entry name is read into memory */
int ts_archive_keep(ts_archive_reader_t *rd, const char *name);

/*
 * TorchScript, a state_dict or neither, from the entries of the zip that
 * read gives, which is streamed (no seeking) and stops at the first
 * TorchScript entry; why says what it is not.
 */
ts_archive_torch_kind_e ts_archive_sniff_torch(ts_archive_read_pt read,
    void *data, char *why, size_t whylen);

/*
 * A second pass over a's path, under a's limits: nothing is kept and
 * only the entry sniff->name is read, streamed to the sniffer 64 KB at a
 * time.  -1 with err set if the archive cannot be read again.
 */
int ts_archive_sniff_path(const ts_archive_t *a, ts_archive_sniff_t *sniff,
    char *err, size_t errlen);

/* 1 if this pass sniffs the entry name (and not the one already found) */
int ts_archive_sniffs(ts_archive_reader_t *rd, const char *name);

/*
 * Streams the entry name, being read from ar (an outer zip or tar) or,
 * when ar is NULL, from fd (a folder's file), to the sniffer; the bytes
 * are counted against the limits.  Sets rd->sniff; -1 if reading fails.
 */
int ts_archive_sniff_entry(ts_archive_reader_t *rd, const char *name,
    struct archive *ar, int fd);

#endif /* TS_ARCHIVE_INT_H */
