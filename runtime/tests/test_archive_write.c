/*
 * test_archive_write.c: ts_archive_write (the four layouts, entry names,
 * links in the target) and ts_manifest_json (upstream's exact text),
 * with every archive read back by ts_archive_open, byte for byte.
 *
 * Every test gets a fresh folder (under $TS_TEST_TMP when it is set,
 * else under /tmp), works from inside it, and removes it afterwards.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fx_tmpdir.h"

#include <archive.h>
#include <archive_entry.h>

#include "ts_archive.h"
#include "ts_archive_write.h"


typedef struct {
    const char     *name;
    unsigned char  *data;
    size_t          size;
    int             from_fd;    /* added with ts_archive_writer_add_fd */
} fx_file_t;


#define FX_COUNT(a)     (sizeof(a) / sizeof((a)[0]))
#define FX_BIG          (200 * 1024 + 17)   /* several 64 KiB chunks */


static const char  fx_manifest_full[] =
    "{\n"
    "  \"createdOn\": \"24/11/2025 02:39:00\",\n"
    "  \"runtime\": \"python\",\n"
    "  \"model\": {\n"
    "    \"modelName\": \"mnist\",\n"
    "    \"serializedFile\": \"mnist_sd.pt\",\n"
    "    \"handler\": \"mnist_handler.py\",\n"
    "    \"modelFile\": \"mnist_model.py\",\n"
    "    \"modelVersion\": \"1.0\",\n"
    "    \"extensions\": \"ext\",\n"
    "    \"requirementsFile\": \"requirements.txt\",\n"
    "    \"configFile\": \"model-config.yaml\"\n"
    "  },\n"
    "  \"archiverVersion\": \"0.12.0\"\n"
    "}";


static int
fx_setup(void **state)
{
    return fx_tmpdir_setup(state, "test_archive_write");
}


static void
fx_write_file(const char *path, const void *data, size_t size)
{
    int  fd;

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd != -1);
    assert_int_equal(write(fd, data, size), (ssize_t) size);
    assert_int_equal(close(fd), 0);
}


static size_t
fx_count_entries(const char *path)
{
    DIR            *dir;
    size_t          n;
    struct dirent  *de;

    dir = opendir(path);
    assert_non_null(dir);

    n = 0;

    while ((de = readdir(dir)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
            n++;
        }
    }

    closedir(dir);

    return n;
}


/* --- the manifest ------------------------------------------------------ */


static void
test_manifest_full(void **state)
{
    char           *json;
    size_t          len;
    ts_manifest_t   m;

    memset(&m, 0, sizeof(ts_manifest_t));

    m.created_on = "24/11/2025 02:39:00";
    m.runtime = "python";
    m.model_name = "mnist";
    m.serialized_file = "mnist_sd.pt";
    m.handler = "mnist_handler.py";
    m.model_file = "mnist_model.py";
    m.model_version = "1.0";
    m.extensions = "ext";
    m.requirements_file = "requirements.txt";
    m.config_file = "model-config.yaml";
    m.archiver_version = TS_ARCHIVER_VERSION;

    json = ts_manifest_json(&m, &len);
    assert_non_null(json);

    assert_string_equal(json, fx_manifest_full);
    assert_int_equal(len, strlen(fx_manifest_full));

    free(json);
}


/* upstream leaves out what is None or "" (modelName and handler stay) */

static void
test_manifest_minimal(void **state)
{
    char           *json;
    size_t          len;
    ts_manifest_t   m;

    memset(&m, 0, sizeof(ts_manifest_t));

    m.created_on = "01/02/2003 04:05:06";
    m.runtime = "python3";
    m.model_name = "m";
    m.handler = "";
    m.model_version = "";
    m.serialized_file = "";
    m.config_file = NULL;
    m.archiver_version = TS_ARCHIVER_VERSION;

    json = ts_manifest_json(&m, &len);
    assert_non_null(json);

    assert_string_equal(json,
        "{\n"
        "  \"createdOn\": \"01/02/2003 04:05:06\",\n"
        "  \"runtime\": \"python3\",\n"
        "  \"model\": {\n"
        "    \"modelName\": \"m\",\n"
        "    \"handler\": \"\"\n"
        "  },\n"
        "  \"archiverVersion\": \"0.12.0\"\n"
        "}");

    free(json);
}


/*
 * Python's json.dumps(ensure_ascii=True) of these bytes (the expected
 * text is what CPython 3.11 prints for the valid UTF-8); a byte that is
 * not UTF-8 is \u00XX, as ts_json_dump_value writes it everywhere, where
 * Python, decoding argv with surrogateescape, would write \udcXX.
 */

static void
test_manifest_escapes(void **state)
{
    char           *json, err[256];
    size_t          len;
    ts_manifest_t   m, back;

    memset(&m, 0, sizeof(ts_manifest_t));

    m.created_on = "x";
    m.runtime = "python";
    m.model_name = "q\"b\\s\n\r\t\b\f\001\037\177 \303\251\342\202\254"
                   "\360\237\230\200\377\342\202X\355\240\200~";
    m.handler = "h";

    json = ts_manifest_json(&m, &len);
    assert_non_null(json);

    assert_string_equal(json,
        "{\n"
        "  \"createdOn\": \"x\",\n"
        "  \"runtime\": \"python\",\n"
        "  \"model\": {\n"
        "    \"modelName\": \"q\\\"b\\\\s\\n\\r\\t\\b\\f\\u0001\\u001f"
        "\\u007f \\u00e9\\u20ac\\ud83d\\ude00\\u00ff\\u00e2\\u0082X"
        "\\u00ed\\u00a0\\u0080~\",\n"
        "    \"handler\": \"h\"\n"
        "  }\n"
        "}");
    assert_int_equal(len, strlen(json));

    /* valid JSON even so: our own reader (jansson) takes it */
    assert_int_equal(ts_manifest_parse(json, len, &back, err, sizeof(err)),
                     0);
    assert_string_equal(back.model_name,
                        "q\"b\\s\n\r\t\b\f\001\037\177 \303\251\342\202\254"
                        "\360\237\230\200\303\277\303\242\302\202X"
                        "\303\255\302\240\302\200~");

    ts_manifest_clear(&back);
    free(json);
}


/* what ts_manifest_json writes, ts_manifest_parse reads back */

static void
test_manifest_parses_back(void **state)
{
    char           *json, err[256];
    size_t          len;
    ts_manifest_t   m, back;

    memset(&m, 0, sizeof(ts_manifest_t));

    m.created_on = "24/11/2025 02:39:00";
    m.runtime = "python";
    m.model_name = "caf\303\251";
    m.serialized_file = "w \"1\".pt";
    m.handler = "tensor";
    m.model_version = "2.0";
    m.config_file = "model-config.yaml";
    m.archiver_version = TS_ARCHIVER_VERSION;
    m.description = "top";
    m.model_description = "model";
    m.envelope = "json";

    json = ts_manifest_json(&m, &len);
    assert_non_null(json);

    assert_int_equal(ts_manifest_parse(json, len, &back, err, sizeof(err)),
                     0);

    assert_string_equal(back.created_on, m.created_on);
    assert_string_equal(back.runtime, "python");
    assert_string_equal(back.model_name, "caf\303\251");
    assert_string_equal(back.serialized_file, "w \"1\".pt");
    assert_string_equal(back.handler, "tensor");
    assert_string_equal(back.model_version, "2.0");
    assert_string_equal(back.config_file, "model-config.yaml");
    assert_string_equal(back.archiver_version, "0.12.0");
    assert_string_equal(back.description, "top");
    assert_string_equal(back.model_description, "model");
    assert_string_equal(back.envelope, "json");
    assert_null(back.model_file);
    assert_null(back.requirements_file);

    /* the fields upstream never writes come last in their objects */
    assert_non_null(strstr(json, "\"configFile\": \"model-config.yaml\",\n"
                           "    \"envelope\": \"json\",\n"
                           "    \"description\": \"model\"\n  },\n"));
    assert_non_null(strstr(json, "\"archiverVersion\": \"0.12.0\",\n"
                           "  \"description\": \"top\"\n}"));

    ts_manifest_clear(&back);
    free(json);
}


static void
test_manifest_created_on(void **state)
{
    char  buf[32];

    setenv("TZ", "UTC", 1);
    tzset();

    ts_manifest_created_on(1764123456, buf, sizeof(buf));
    assert_string_equal(buf, "26/11/2025 02:17:36");

    ts_manifest_created_on(0, buf, sizeof(buf));
    assert_string_equal(buf, "01/01/1970 00:00:00");
}


static void
test_format_names(void **state)
{
    assert_int_equal(ts_archive_write_format("default"),
                     TS_ARCHIVE_WRITE_ZIP);
    assert_int_equal(ts_archive_write_format("zip-store"),
                     TS_ARCHIVE_WRITE_ZIP_STORE);
    assert_int_equal(ts_archive_write_format("tgz"), TS_ARCHIVE_WRITE_TGZ);
    assert_int_equal(ts_archive_write_format("no-archive"),
                     TS_ARCHIVE_WRITE_DIR);
    assert_int_equal(ts_archive_write_format("zip"), -1);
    assert_int_equal(ts_archive_write_format(""), -1);

    assert_string_equal(ts_archive_write_suffix(TS_ARCHIVE_WRITE_ZIP),
                        ".mar");
    assert_string_equal(ts_archive_write_suffix(TS_ARCHIVE_WRITE_ZIP_STORE),
                        ".mar");
    assert_string_equal(ts_archive_write_suffix(TS_ARCHIVE_WRITE_TGZ),
                        ".tar.gz");
    assert_string_equal(ts_archive_write_suffix(TS_ARCHIVE_WRITE_DIR), "");
}


static void
test_name_ok(void **state)
{
    size_t  i;

    static const char  *good[] = {
        "a", "a.pt", "MAR-INF/MANIFEST.json", "sub/deeper/c.txt", ".hidden",
        "..x", "x..", "caf\303\251.txt", "a b", "a\\b", "...",
    };

    static const char  *bad[] = {
        "", "/abs", "/", "a/", "a//b", "./a", "a/./b", "..", "../x",
        "a/../b", "a/..", ".", "tab\there", "nl\n", "del\177",
        "bad\377utf8", "overlong\300\257", "surrogate\355\240\200",
    };

    for (i = 0; i < FX_COUNT(good); i++) {
        if (!ts_archive_write_name_ok(good[i])) {
            fail_msg("\"%s\" should be a valid name", good[i]);
        }
    }

    for (i = 0; i < FX_COUNT(bad); i++) {
        if (ts_archive_write_name_ok(bad[i])) {
            fail_msg("\"%s\" should be refused", bad[i]);
        }
    }

    assert_false(ts_archive_write_name_ok(NULL));
}


/* --- round trips ------------------------------------------------------- */


/*
 * Writes files (every byte value, several chunks, empty, nested, a UTF-8
 * name, from descriptors and from memory) and the manifest last, then
 * reads the result back with the runtime's reader.
 */

static void
fx_round_trip(void **state, ts_archive_write_format_e format)
{
    int                       fd, out;
    char                      err[512], *json;
    size_t                    i, len;
    const char               *target;
    ts_archive_t             *a;
    ts_manifest_t             m;
    unsigned char            *big, bytes[256];
    ts_archive_writer_t      *w;
    const ts_archive_file_t  *f;
    fx_file_t                 files[6];

    for (i = 0; i < 256; i++) {
        bytes[i] = (unsigned char) i;
    }

    big = malloc(FX_BIG);
    assert_non_null(big);

    for (i = 0; i < FX_BIG; i++) {
        big[i] = (unsigned char) ((i * 2654435761u) >> 13);
    }

    memset(files, 0, sizeof(files));

    files[0].name = "mnist.pt";
    files[0].data = big;
    files[0].size = FX_BIG;
    files[0].from_fd = 1;

    files[1].name = "bytes.bin";
    files[1].data = bytes;
    files[1].size = sizeof(bytes);
    files[1].from_fd = 1;

    files[2].name = "empty.txt";
    files[2].data = (unsigned char *) "";
    files[2].size = 0;
    files[2].from_fd = 1;

    files[3].name = "sub/deeper/notes.txt";
    files[3].data = (unsigned char *) "two folders down\n";
    files[3].size = strlen("two folders down\n");

    files[4].name = "caf\303\251.json";
    files[4].data = (unsigned char *) "{\"0\": \"z\303\251ro\"}";
    files[4].size = strlen((char *) files[4].data);

    files[5].name = "model-config.yaml";
    files[5].data = (unsigned char *) "minWorkers: 1\nbatchSize: 4\n";
    files[5].size = strlen((char *) files[5].data);
    files[5].from_fd = 1;

    memset(&m, 0, sizeof(ts_manifest_t));

    m.created_on = "24/11/2025 02:39:00";
    m.runtime = "python";
    m.model_name = "mnist";
    m.serialized_file = "mnist.pt";
    m.handler = "tensor";
    m.model_version = "1.0";
    m.config_file = "model-config.yaml";
    m.archiver_version = TS_ARCHIVER_VERSION;

    json = ts_manifest_json(&m, &len);
    assert_non_null(json);

    assert_int_equal(mkdir("src", 0755), 0);

    if (format == TS_ARCHIVE_WRITE_DIR) {
        assert_int_equal(mkdir("mnist", 0755), 0);
        out = open("mnist", O_RDONLY | O_DIRECTORY);
        target = "mnist";

    } else {
        target = format == TS_ARCHIVE_WRITE_TGZ ? "mnist.tar.gz"
                                                 : "mnist.mar";
        out = open(target, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    }

    assert_true(out != -1);

    w = ts_archive_writer_new(format, out, "mnist", err, sizeof(err));
    if (w == NULL) {
        fail_msg("ts_archive_writer_new: %s", err);
    }

    for (i = 0; i < FX_COUNT(files); i++) {
        if (!files[i].from_fd) {
            if (ts_archive_writer_add_data(w, files[i].name, files[i].data,
                                           files[i].size, 0644, 1700000000,
                                           err, sizeof(err))
                != 0)
            {
                fail_msg("add_data \"%s\": %s", files[i].name, err);
            }

            continue;
        }

        snprintf(err, sizeof(err), "src/%zu", i);
        fx_write_file(err, files[i].data, files[i].size);

        fd = open(err, O_RDONLY);
        assert_true(fd != -1);

        /* the writer reads from offset 0, whatever the offset is */
        lseek(fd, 3, SEEK_SET);

        if (ts_archive_writer_add_fd(w, files[i].name, fd, "src", err,
                                     sizeof(err))
            != 0)
        {
            fail_msg("add_fd \"%s\": %s", files[i].name, err);
        }

        close(fd);
    }

    if (ts_archive_writer_add_data(w, TS_ARCHIVE_MANIFEST_NAME, json, len,
                                   0600, 0, err, sizeof(err))
        != 0)
    {
        fail_msg("manifest: %s", err);
    }

    if (ts_archive_writer_finish(w, err, sizeof(err)) != 0) {
        fail_msg("finish: %s", err);
    }

    ts_archive_writer_free(w);
    assert_int_equal(close(out), 0);

    a = ts_archive_open(fx_path(state, target), NULL, err, sizeof(err));
    if (a == NULL) {
        fail_msg("ts_archive_open: %s", err);
    }

    assert_int_equal(a->format,
                     format == TS_ARCHIVE_WRITE_DIR ? TS_ARCHIVE_DIR
                     : format == TS_ARCHIVE_WRITE_TGZ ? TS_ARCHIVE_TGZ
                     : TS_ARCHIVE_ZIP);

    /* the files, and the manifest: nothing else */
    assert_int_equal(a->nfiles, FX_COUNT(files) + 1);

    for (i = 0; i < FX_COUNT(files); i++) {
        f = ts_archive_find(a, files[i].name);
        if (f == NULL) {
            fail_msg("\"%s\" is not in the archive", files[i].name);
        }

        assert_int_equal(f->size, files[i].size);

        if (files[i].size > 0) {
            assert_memory_equal(f->data, files[i].data, files[i].size);
        }
    }

    f = ts_archive_find(a, TS_ARCHIVE_MANIFEST_NAME);
    assert_non_null(f);
    assert_int_equal(f->size, len);
    assert_memory_equal(f->data, json, len);

    assert_string_equal(a->manifest.model_name, "mnist");
    assert_string_equal(a->manifest.serialized_file, "mnist.pt");
    assert_string_equal(a->manifest.config_file, "model-config.yaml");

    ts_archive_free(a);
    free(json);
    free(big);
}


static void
test_round_trip_zip(void **state)
{
    fx_round_trip(state, TS_ARCHIVE_WRITE_ZIP);
}


static void
test_round_trip_zip_store(void **state)
{
    fx_round_trip(state, TS_ARCHIVE_WRITE_ZIP_STORE);
}


static void
test_round_trip_tgz(void **state)
{
    fx_round_trip(state, TS_ARCHIVE_WRITE_TGZ);
}


static void
test_round_trip_dir(void **state)
{
    fx_round_trip(state, TS_ARCHIVE_WRITE_DIR);
}


/* --- layouts, as libarchive's reader sees them ------------------------- */


typedef struct {
    char    name[256];
    char    format[64];
    mode_t  type;
    mode_t  perm;
    time_t  mtime;
} fx_seen_t;


static size_t
fx_list(const char *path, fx_seen_t *seen, size_t max, int *filter)
{
    size_t                 n;
    struct archive        *ar;
    struct archive_entry  *entry;

    ar = archive_read_new();
    assert_non_null(ar);

    archive_read_support_format_zip(ar);
    archive_read_support_format_tar(ar);
    archive_read_support_filter_gzip(ar);

    assert_int_equal(archive_read_open_filename(ar, path, 10240),
                     ARCHIVE_OK);

    n = 0;

    while (archive_read_next_header(ar, &entry) == ARCHIVE_OK) {
        assert_true(n < max);

        snprintf(seen[n].name, sizeof(seen[n].name), "%s",
                 archive_entry_pathname(entry));
        snprintf(seen[n].format, sizeof(seen[n].format), "%s",
                 archive_format_name(ar));
        seen[n].type = archive_entry_filetype(entry);
        seen[n].perm = archive_entry_perm(entry);
        seen[n].mtime = archive_entry_mtime(entry);
        n++;
    }

    *filter = archive_filter_code(ar, 0);

    archive_read_free(ar);

    return n;
}


static void
fx_write_small(ts_archive_write_format_e format, const char *path)
{
    int                   out;
    char                  err[512];
    ts_archive_writer_t  *w;

    out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(out != -1);

    w = ts_archive_writer_new(format, out, "mnist", err, sizeof(err));
    assert_non_null(w);

    assert_int_equal(ts_archive_writer_add_data(w, "b/c.txt", "c", 1, 0640,
                                                1700000000, err,
                                                sizeof(err)), 0);
    assert_int_equal(ts_archive_writer_add_data(w, "a.pt", "aaaa", 4, 0644,
                                                1700000000, err,
                                                sizeof(err)), 0);
    assert_int_equal(ts_archive_writer_add_data(w, TS_ARCHIVE_MANIFEST_NAME,
                                                "{}", 2, 0644, 0, err,
                                                sizeof(err)), 0);
    assert_int_equal(ts_archive_writer_finish(w, err, sizeof(err)), 0);

    ts_archive_writer_free(w);
    assert_int_equal(close(out), 0);
}


/* no folder entries, entries in the order given, deflate or stored */

static void
test_layout_zip(void **state)
{
    int        filter;
    size_t     n;
    fx_seen_t  seen[8];

    fx_write_small(TS_ARCHIVE_WRITE_ZIP, "d.mar");
    n = fx_list("d.mar", seen, 8, &filter);

    assert_int_equal(n, 3);
    assert_string_equal(seen[0].name, "b/c.txt");
    assert_string_equal(seen[1].name, "a.pt");
    assert_string_equal(seen[2].name, "MAR-INF/MANIFEST.json");
    assert_int_equal(seen[0].type, AE_IFREG);
    assert_int_equal(seen[0].perm, 0640);
    assert_non_null(strstr(seen[0].format, "deflation"));

    fx_write_small(TS_ARCHIVE_WRITE_ZIP_STORE, "s.mar");
    n = fx_list("s.mar", seen, 8, &filter);

    assert_int_equal(n, 3);
    assert_string_equal(seen[2].name, "MAR-INF/MANIFEST.json");
    assert_non_null(strstr(seen[0].format, "uncompressed"));
    assert_non_null(strstr(seen[2].format, "uncompressed"));
}


/* gzip, every entry under "{model}/", no folder entries, owner 0 */

static void
test_layout_tgz(void **state)
{
    int        filter;
    size_t     n;
    fx_seen_t  seen[8];

    fx_write_small(TS_ARCHIVE_WRITE_TGZ, "m.tar.gz");
    n = fx_list("m.tar.gz", seen, 8, &filter);

    assert_int_equal(filter, ARCHIVE_FILTER_GZIP);
    assert_int_equal(n, 3);
    assert_string_equal(seen[0].name, "mnist/b/c.txt");
    assert_string_equal(seen[1].name, "mnist/a.pt");
    assert_string_equal(seen[2].name, "mnist/MAR-INF/MANIFEST.json");
    assert_int_equal(seen[1].mtime, 1700000000);
    assert_int_equal(seen[2].mtime, 0);
    assert_int_equal(seen[0].perm, 0640);
}


static void
test_tgz_needs_top(void **state)
{
    char                  err[256];
    ts_archive_writer_t  *w;

    w = ts_archive_writer_new(TS_ARCHIVE_WRITE_TGZ, 1, NULL, err,
                              sizeof(err));
    assert_null(w);

    w = ts_archive_writer_new(TS_ARCHIVE_WRITE_TGZ, 1, "a/b", err,
                              sizeof(err));
    assert_null(w);
    assert_non_null(strstr(err, "invalid top folder"));

    w = ts_archive_writer_new(TS_ARCHIVE_WRITE_TGZ, 1, "..", err,
                              sizeof(err));
    assert_null(w);
}


/* --- refusals ----------------------------------------------------------- */


static void
test_bad_names_refused(void **state)
{
    int                   fd;
    char                  err[256];
    size_t                i;
    ts_archive_writer_t  *w;
    ts_archive_write_format_e  formats[] = {
        TS_ARCHIVE_WRITE_ZIP, TS_ARCHIVE_WRITE_TGZ, TS_ARCHIVE_WRITE_DIR
    };
    static const char  *bad[] = {
        "../escape.txt", "/tmp/abs.txt", "a/../../b", "a//b", "a/./b", "",
        "dir/",
    };
    size_t  f;

    assert_int_equal(mkdir("out", 0755), 0);

    for (f = 0; f < FX_COUNT(formats); f++) {
        if (formats[f] == TS_ARCHIVE_WRITE_DIR) {
            fd = open("out", O_RDONLY | O_DIRECTORY);

        } else {
            fd = open("x.out", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        }

        assert_true(fd != -1);

        w = ts_archive_writer_new(formats[f], fd, "m", err, sizeof(err));
        assert_non_null(w);

        for (i = 0; i < FX_COUNT(bad); i++) {
            assert_int_equal(ts_archive_writer_add_data(w, bad[i], "x", 1,
                                                        0644, 0, err,
                                                        sizeof(err)), -1);
            assert_non_null(strstr(err, "invalid entry name"));
        }

        /* a refused name does not spoil the archive */
        assert_int_equal(ts_archive_writer_add_data(w, "ok.txt", "x", 1,
                                                    0644, 0, err,
                                                    sizeof(err)), 0);
        assert_int_equal(ts_archive_writer_finish(w, err, sizeof(err)), 0);

        /* nothing once finished */
        assert_int_equal(ts_archive_writer_add_data(w, "late.txt", "x", 1,
                                                    0644, 0, err,
                                                    sizeof(err)), -1);

        ts_archive_writer_free(w);
        close(fd);
    }

    /* nothing landed next to the target, nor above it */
    assert_int_equal(access("escape.txt", F_OK), -1);
    assert_int_equal(access("../escape.txt", F_OK), -1);
    assert_int_equal(fx_count_entries("out"), 1);
    assert_int_equal(fx_count_entries("."), 2);
}


/*
 * A link planted in a no-archive target is never followed: a link to a
 * folder on the way is refused; a link at a file's name is replaced by
 * the file, and what it pointed at stays untouched.
 */

static void
test_dir_links_not_followed(void **state)
{
    int                   fd;
    char                  err[512], buf[64];
    ssize_t               n;
    struct stat           st;
    ts_archive_writer_t  *w;

    assert_int_equal(mkdir("outside", 0755), 0);
    fx_write_file("outside/victim.txt", "precious", 8);

    assert_int_equal(mkdir("model", 0755), 0);
    assert_int_equal(symlink("../outside", "model/sub"), 0);
    assert_int_equal(symlink("../outside/victim.txt", "model/a.txt"), 0);

    fd = open("model", O_RDONLY | O_DIRECTORY);
    assert_true(fd != -1);

    w = ts_archive_writer_new(TS_ARCHIVE_WRITE_DIR, fd, NULL, err,
                              sizeof(err));
    assert_non_null(w);

    assert_int_equal(ts_archive_writer_add_data(w, "sub/victim.txt", "bad",
                                                3, 0644, 0, err,
                                                sizeof(err)), -1);
    assert_non_null(strstr(err, "is not a folder"));

    assert_int_equal(ts_archive_writer_add_data(w, "a.txt", "new", 3, 0644,
                                                0, err, sizeof(err)), 0);
    assert_int_equal(ts_archive_writer_finish(w, err, sizeof(err)), 0);

    ts_archive_writer_free(w);
    close(fd);

    /* outside is as it was */
    assert_int_equal(fx_count_entries("outside"), 1);
    fd = open("outside/victim.txt", O_RDONLY);
    assert_true(fd != -1);
    n = read(fd, buf, sizeof(buf));
    close(fd);
    assert_int_equal(n, 8);
    assert_memory_equal(buf, "precious", 8);

    /* a.txt is now a file; no temp file was left behind */
    assert_int_equal(lstat("model/a.txt", &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0644);
    assert_int_equal(fx_count_entries("model"), 2);
}


static void
test_source_must_be_regular(void **state)
{
    int                   fd, p[2];
    char                  err[512];
    ts_archive_writer_t  *w;

    fd = open("x.mar", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd != -1);

    w = ts_archive_writer_new(TS_ARCHIVE_WRITE_ZIP, fd, NULL, err,
                              sizeof(err));
    assert_non_null(w);

    assert_int_equal(pipe(p), 0);
    assert_int_equal(ts_archive_writer_add_fd(w, "p", p[0], "a pipe", err,
                                              sizeof(err)), -1);
    assert_string_equal(err, "\"a pipe\" is not a regular file");

    close(p[0]);
    close(p[1]);

    ts_archive_writer_free(w);
    close(fd);
}


/* an archive whose output fails is reported, not silently truncated */

static void
test_write_failure_reported(void **state)
{
    int                   fd, rc;
    char                  err[512];
    ts_archive_writer_t  *w;

    fd = open("/dev/full", O_WRONLY);
    if (fd == -1) {
        skip();
    }

    w = ts_archive_writer_new(TS_ARCHIVE_WRITE_ZIP_STORE, fd, NULL, err,
                              sizeof(err));
    assert_non_null(w);

    rc = ts_archive_writer_add_data(w, "a", "aaaa", 4, 0644, 0, err,
                                    sizeof(err));

    if (rc == 0) {
        rc = ts_archive_writer_finish(w, err, sizeof(err));
    }

    assert_int_equal(rc, -1);

    ts_archive_writer_free(w);
    close(fd);
}


int
main(void)
{
#define T(name)  cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)

    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_manifest_full),
        cmocka_unit_test(test_manifest_minimal),
        cmocka_unit_test(test_manifest_escapes),
        cmocka_unit_test(test_manifest_parses_back),
        cmocka_unit_test(test_manifest_created_on),
        cmocka_unit_test(test_format_names),
        cmocka_unit_test(test_name_ok),
        T(test_round_trip_zip),
        T(test_round_trip_zip_store),
        T(test_round_trip_tgz),
        T(test_round_trip_dir),
        T(test_layout_zip),
        T(test_layout_tgz),
        cmocka_unit_test(test_tgz_needs_top),
        T(test_bad_names_refused),
        T(test_dir_links_not_followed),
        T(test_source_must_be_regular),
        T(test_write_failure_reported),
    };

#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
