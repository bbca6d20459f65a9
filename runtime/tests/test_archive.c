/*
 * test_archive.c: ts_archive_open and ts_archive_check_torchscript on
 * archives written here, at run time, with libarchive's writer.
 *
 * Every test gets a fresh folder (under $TS_TEST_TMP when it is set, else
 * under /tmp), works from inside it, and is removed afterwards.  The reader
 * must never write anything: every open is checked to leave that folder as
 * it was, and hostile tests also check it holds only what they wrote.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <unistd.h>

#include <cmocka.h>

#include "fx_tmpdir.h"

#include <archive.h>
#include <archive_entry.h>

#include "ts_archive.h"


typedef enum {
    FX_ZIP = 0,             /* deflate, as torch-model-archiver writes */
    FX_ZIP_STORE,
    FX_TGZ,
    FX_TAR
} fx_format_e;


typedef enum {
    FX_FILE = 0,
    FX_DIR,
    FX_SYMLINK,             /* data: the target */
    FX_HARDLINK,            /* data: the target */
    FX_CHRDEV,
    FX_FIFO                 /* folders only */
} fx_type_e;


typedef struct {
    const char  *name;
    const void  *data;
    size_t       size;      /* 0: strlen(data) */
    fx_type_e    type;
} fx_entry_t;


#define FX_COUNT(a)  (sizeof(a) / sizeof((a)[0]))


static const char  fx_manifest[] =
    "{\n"
    "  \"createdOn\": \"24/11/2025 02:39:00\",\n"
    "  \"runtime\": \"python\",\n"
    "  \"model\": {\n"
    "    \"modelName\": \"mnist\",\n"
    "    \"serializedFile\": \"mnist.pt\",\n"
    "    \"handler\": \"image_classifier\",\n"
    "    \"modelVersion\": \"1.0\",\n"
    "    \"configFile\": \"model-config.yaml\"\n"
    "  },\n"
    "  \"archiverVersion\": \"0.12.0\"\n"
    "}\n";

static const char  fx_config[] = "minWorkers: 1\nbatchSize: 4\n";
static const char  fx_index[] = "{\"0\": \"zero\", \"1\": \"one\"}";
static const char  fx_weights[] = "PK\003\004 not really weights\n";
static const char  fx_extra[] = "extra file, two folders down\n";


/* a model as the archiver lays it out, in the order given */
static const fx_entry_t  fx_model_manifest_first[] = {
    { "MAR-INF/MANIFEST.json", fx_manifest, 0, FX_FILE },
    { "mnist.pt", fx_weights, 0, FX_FILE },
    { "model-config.yaml", fx_config, 0, FX_FILE },
    { "index_to_name.json", fx_index, 0, FX_FILE },
    { "extra/sub/notes.txt", fx_extra, 0, FX_FILE },
    { "empty.txt", "", 0, FX_FILE },
};

static const fx_entry_t  fx_model_manifest_last[] = {
    { "extra/", NULL, 0, FX_DIR },
    { "extra/sub/", NULL, 0, FX_DIR },
    { "extra/sub/notes.txt", fx_extra, 0, FX_FILE },
    { "index_to_name.json", fx_index, 0, FX_FILE },
    { "empty.txt", "", 0, FX_FILE },
    { "model-config.yaml", fx_config, 0, FX_FILE },
    { "mnist.pt", fx_weights, 0, FX_FILE },
    { "MAR-INF/", NULL, 0, FX_DIR },
    { "MAR-INF/MANIFEST.json", fx_manifest, 0, FX_FILE },
};


static int
fx_setup(void **state)
{
    return fx_tmpdir_setup(state, "test_archive");
}


static size_t
fx_size(const fx_entry_t *e)
{
    return e->size ? e->size : (e->data ? strlen(e->data) : 0);
}


static void
fx_write_entries(struct archive *a, const char *top, const fx_entry_t *e,
    size_t n)
{
    char                   name[PATH_MAX];
    size_t                 i;
    struct archive_entry  *entry;

    if (top != NULL) {
        entry = archive_entry_new();
        archive_entry_set_pathname(entry, top);
        archive_entry_set_filetype(entry, AE_IFDIR);
        archive_entry_set_perm(entry, 0755);
        assert_int_equal(archive_write_header(a, entry), ARCHIVE_OK);
        archive_entry_free(entry);
    }

    for (i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "%s%s", top ? top : "", e[i].name);

        entry = archive_entry_new();
        archive_entry_set_pathname(entry, name);
        archive_entry_set_perm(entry, 0644);
        archive_entry_set_mtime(entry, 1700000000, 0);

        switch (e[i].type) {

        case FX_FILE:
            archive_entry_set_filetype(entry, AE_IFREG);
            archive_entry_set_size(entry, (la_int64_t) fx_size(&e[i]));
            break;

        case FX_DIR:
            archive_entry_set_filetype(entry, AE_IFDIR);
            archive_entry_set_perm(entry, 0755);
            break;

        case FX_SYMLINK:
            archive_entry_set_filetype(entry, AE_IFLNK);
            archive_entry_set_symlink(entry, e[i].data);
            break;

        case FX_HARDLINK:
            archive_entry_set_filetype(entry, AE_IFREG);
            archive_entry_set_hardlink(entry, e[i].data);
            archive_entry_set_size(entry, 0);
            break;

        case FX_CHRDEV:
            archive_entry_set_filetype(entry, AE_IFCHR);
            archive_entry_set_rdev(entry, makedev(1, 3));
            break;

        default:
            fail_msg("entry type %d cannot be archived", e[i].type);
        }

        if (archive_write_header(a, entry) < ARCHIVE_WARN) {
            fail_msg("writing \"%s\": %s", name, archive_error_string(a));
        }

        if (e[i].type == FX_FILE && fx_size(&e[i]) > 0) {
            assert_int_equal(archive_write_data(a, e[i].data,
                                                fx_size(&e[i])),
                             (la_ssize_t) fx_size(&e[i]));
        }

        archive_entry_free(entry);
    }
}


static struct archive *
fx_writer(fx_format_e format)
{
    struct archive  *a;

    a = archive_write_new();
    assert_non_null(a);

    switch (format) {

    case FX_ZIP:
        assert_int_equal(archive_write_set_format_zip(a), ARCHIVE_OK);
        assert_int_equal(archive_write_zip_set_compression_deflate(a),
                         ARCHIVE_OK);
        break;

    case FX_ZIP_STORE:
        assert_int_equal(archive_write_set_format_zip(a), ARCHIVE_OK);
        assert_int_equal(archive_write_set_format_option(a, "zip",
                             "compression", "store"), ARCHIVE_OK);
        break;

    case FX_TGZ:
        assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
        assert_int_equal(archive_write_set_format_pax_restricted(a),
                         ARCHIVE_OK);
        break;

    case FX_TAR:
        assert_int_equal(archive_write_set_format_pax_restricted(a),
                         ARCHIVE_OK);
        break;
    }

    return a;
}


/* top: a folder every entry goes under ("mnist/"), as in tgz; or NULL */

static const char *
fx_archive(void **state, const char *name, fx_format_e format,
    const char *top, const fx_entry_t *e, size_t n)
{
    const char      *path;
    struct archive  *a;

    path = fx_path(state, name);

    a = fx_writer(format);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    fx_write_entries(a, top, e, n);
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);

    return path;
}


/* a zip in memory, stored, as torch.save and torch.jit.save write */

static unsigned char *
fx_zip_memory(const fx_entry_t *e, size_t n, size_t *size)
{
    size_t           i, capacity;
    unsigned char   *buf;
    struct archive  *a;

    capacity = 1 << 20;

    for (i = 0; i < n; i++) {
        capacity += fx_size(&e[i]);
    }

    buf = malloc(capacity);
    assert_non_null(buf);

    a = fx_writer(FX_ZIP_STORE);
    assert_int_equal(archive_write_open_memory(a, buf, capacity, size),
                     ARCHIVE_OK);
    fx_write_entries(a, NULL, e, n);
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);

    return buf;
}


static void
fx_mkdirs(const char *path)
{
    char  *p, buf[PATH_MAX];

    snprintf(buf, sizeof(buf), "%s", path);

    for (p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0755) == -1 && errno != EEXIST) {
                fail_msg("mkdir \"%s\": %s", buf, strerror(errno));
            }
            *p = '/';
        }
    }
}


static const char *
fx_folder(void **state, const char *name, const fx_entry_t *e, size_t n)
{
    int          fd;
    char         root[PATH_MAX], path[PATH_MAX];
    size_t       i;
    const char  *result;

    result = fx_path(state, name);
    assert_true(snprintf(root, sizeof(root), "%s/", result)
                < (int) sizeof(root));
    fx_mkdirs(root);

    for (i = 0; i < n; i++) {
        assert_true(snprintf(path, sizeof(path), "%s%s", root, e[i].name)
                    < (int) sizeof(path));
        fx_mkdirs(path);

        switch (e[i].type) {

        case FX_FILE:
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            assert_true(fd != -1);
            assert_int_equal(write(fd, e[i].data, fx_size(&e[i])),
                             (ssize_t) fx_size(&e[i]));
            close(fd);
            break;

        case FX_DIR:
            if (mkdir(path, 0755) == -1 && errno != EEXIST) {
                fail_msg("mkdir \"%s\": %s", path, strerror(errno));
            }
            break;

        case FX_SYMLINK:
            assert_int_equal(symlink(e[i].data, path), 0);
            break;

        case FX_FIFO:
            assert_int_equal(mkfifo(path, 0644), 0);
            break;

        default:
            fail_msg("entry type %d cannot be made in a folder", e[i].type);
        }
    }

    return result;
}


static void
fx_write_file(const char *path, const void *data, size_t size)
{
    int  fd;

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd != -1);
    assert_int_equal(write(fd, data, size), (ssize_t) size);
    close(fd);
}


static int
fx_cmp_strings(const void *one, const void *two)
{
    return strcmp(*(char * const *) one, *(char * const *) two);
}


static void
fx_list(const char *root, const char *prefix, char **names, size_t *n)
{
    DIR            *dir;
    char            path[PATH_MAX], name[PATH_MAX];
    struct stat     st;
    struct dirent  *de;

    dir = opendir(root);
    assert_non_null(dir);

    while ((de = readdir(dir)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }

        snprintf(name, sizeof(name), "%s%s", prefix, de->d_name);
        snprintf(path, sizeof(path), "%s/%s", root, de->d_name);

        assert_true(*n < 256);
        names[(*n)++] = strdup(name);

        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            strcat(name, "/");
            fx_list(path, name, names, n);
        }
    }

    closedir(dir);
}


/* every name under root ("a", "a/b"), sorted, one a line; malloc'd */

static char *
fx_tree(const char *root)
{
    char    *names[256], *all;
    size_t   i, n, len;

    n = 0;
    fx_list(root, "", names, &n);
    qsort(names, n, sizeof(char *), fx_cmp_strings);

    len = 1;

    for (i = 0; i < n; i++) {
        len += strlen(names[i]) + 1;
    }

    all = malloc(len);
    assert_non_null(all);
    all[0] = '\0';

    for (i = 0; i < n; i++) {
        strcat(all, names[i]);
        strcat(all, "\n");
        free(names[i]);
    }

    return all;
}


/* the test folder holds exactly these names ("a", "a/b"), nothing more */

static void
fx_assert_only(void **state, ...)
{
    char        *names[256], *all, want[4096];
    size_t       i, n;
    va_list      args;
    const char  *name;
    fx_state_t  *fx = *state;

    n = 0;
    va_start(args, state);

    while ((name = va_arg(args, const char *)) != NULL) {
        names[n++] = (char *) name;
    }

    va_end(args);

    qsort(names, n, sizeof(char *), fx_cmp_strings);

    want[0] = '\0';

    for (i = 0; i < n; i++) {
        strcat(want, names[i]);
        strcat(want, "\n");
    }

    all = fx_tree(fx->dir);
    assert_string_equal(all, want);
    free(all);
}


/*
 * ts_archive_open, checking that it wrote nothing: the test runs in its
 * own folder, where relative names would land
 */

static ts_archive_t *
fx_open_quietly(const char *path, const ts_archive_limits_t *limits,
    char *err, size_t errlen)
{
    char          *before, *after;
    ts_archive_t  *a;

    before = fx_tree(".");
    a = ts_archive_open(path, limits, err, errlen);
    after = fx_tree(".");

    assert_string_equal(before, after);

    free(before);
    free(after);

    return a;
}


/* open must fail with a message holding every word given */

static void
fx_assert_refused(const char *path, const ts_archive_limits_t *limits, ...)
{
    char           err[1024];
    va_list        args;
    const char    *word;
    ts_archive_t  *a;

    err[0] = '\0';

    a = fx_open_quietly(path, limits, err, sizeof(err));
    if (a != NULL) {
        ts_archive_free(a);
        fail_msg("\"%s\" was accepted", path);
    }

    va_start(args, limits);

    while ((word = va_arg(args, const char *)) != NULL) {
        if (strstr(err, word) == NULL) {
            va_end(args);
            fail_msg("\"%s\" not in the message \"%s\"", word, err);
        }
    }

    va_end(args);
}


static ts_archive_t *
fx_open(const char *path, const ts_archive_limits_t *limits)
{
    char           err[1024];
    ts_archive_t  *a;

    a = fx_open_quietly(path, limits, err, sizeof(err));
    if (a == NULL) {
        fail_msg("\"%s\" was refused: %s", path, err);
    }

    return a;
}



static int
is_yaml(const char *name)
{
    size_t  len = strlen(name);

    return (len > 5 && strcmp(name + len - 5, ".yaml") == 0)
           || (len > 4 && strcmp(name + len - 4, ".yml") == 0);
}

static void
fx_assert_file(const ts_archive_t *a, const char *name, const char *data,
    int with_data)
{
    const ts_archive_file_t  *f;

    f = ts_archive_find(a, name);
    if (f == NULL) {
        fail_msg("\"%s\" is not in the archive", name);
    }

    assert_string_equal(f->name, name);
    assert_int_equal(f->size, strlen(data));

    /* YAML files are read even without data: model-config.yaml */
    if (with_data || is_yaml(name)) {
        assert_non_null(f->data);
        assert_memory_equal(f->data, data, f->size);
        assert_int_equal(f->data[f->size], '\0');

    } else {
        assert_null(f->data);
    }
}


/* the model of fx_model_*, whatever the layout */

static void
fx_assert_model(const ts_archive_t *a, ts_archive_format_e format,
    int with_data)
{
    size_t  i;

    assert_int_equal(a->format, format);
    assert_int_equal(a->nfiles, 6);

    assert_string_equal(a->manifest.model_name, "mnist");
    assert_string_equal(a->manifest.model_version, "1.0");
    assert_string_equal(a->manifest.serialized_file, "mnist.pt");
    assert_string_equal(a->manifest.handler, "image_classifier");
    assert_string_equal(a->manifest.config_file, "model-config.yaml");
    assert_string_equal(a->manifest.runtime, "python");
    assert_string_equal(a->manifest.archiver_version, "0.12.0");
    assert_string_equal(a->manifest.created_on, "24/11/2025 02:39:00");
    assert_null(a->manifest.model_file);
    assert_null(a->manifest.description);

    fx_assert_file(a, "MAR-INF/MANIFEST.json", fx_manifest, with_data);
    fx_assert_file(a, "mnist.pt", fx_weights, with_data);
    fx_assert_file(a, "model-config.yaml", fx_config, with_data);
    fx_assert_file(a, "index_to_name.json", fx_index, with_data);
    fx_assert_file(a, "extra/sub/notes.txt", fx_extra, with_data);
    fx_assert_file(a, "empty.txt", "", with_data);

    assert_null(ts_archive_find(a, "extra"));
    assert_null(ts_archive_find(a, "extra/sub"));
    assert_null(ts_archive_find(a, "notes.txt"));
    assert_null(ts_archive_find(a, "MAR-INF"));
    assert_null(ts_archive_find(a, "mnist/mnist.pt"));
    assert_null(ts_archive_find(a, "MNIST.PT"));

    /* the order does not depend on the packing order */
    for (i = 1; i < a->nfiles; i++) {
        assert_true(strcmp(a->files[i - 1].name, a->files[i].name) < 0);
    }
}


static void
fx_open_model(const char *path, ts_archive_format_e format)
{
    ts_archive_t         *a;
    ts_archive_limits_t   limits = { 0 };

    a = fx_open(path, NULL);
    fx_assert_model(a, format, 1);
    assert_int_equal(ts_archive_check_torchscript(a, (char[64]) { 0 }, 64),
                     -1);       /* fx_weights is not a TorchScript zip */
    ts_archive_free(a);

    limits.with_data = 1;
    a = fx_open(path, &limits);
    fx_assert_model(a, format, 1);
    ts_archive_free(a);

    limits.with_data = 0;
    a = fx_open(path, &limits);
    fx_assert_model(a, format, 0);
    ts_archive_free(a);
}


/* --- good archives ------------------------------------------------------ */


static void
test_zip_deflate(void **state)
{
    fx_open_model(fx_archive(state, "mnist.mar", FX_ZIP, NULL,
                             fx_model_manifest_first,
                             FX_COUNT(fx_model_manifest_first)),
                  TS_ARCHIVE_ZIP);
}


static void
test_zip_store(void **state)
{
    fx_open_model(fx_archive(state, "mnist.mar", FX_ZIP_STORE, NULL,
                             fx_model_manifest_first,
                             FX_COUNT(fx_model_manifest_first)),
                  TS_ARCHIVE_ZIP);
}


static void
test_zip_manifest_last(void **state)
{
    fx_open_model(fx_archive(state, "mnist.mar", FX_ZIP, NULL,
                             fx_model_manifest_last,
                             FX_COUNT(fx_model_manifest_last)),
                  TS_ARCHIVE_ZIP);

    fx_open_model(fx_archive(state, "store.mar", FX_ZIP_STORE, NULL,
                             fx_model_manifest_last,
                             FX_COUNT(fx_model_manifest_last)),
                  TS_ARCHIVE_ZIP);
}


static void
test_zip_any_name(void **state)
{
    /* the content decides the format, not the name */
    fx_open_model(fx_archive(state, "mnist.tar.gz", FX_ZIP, NULL,
                             fx_model_manifest_first,
                             FX_COUNT(fx_model_manifest_first)),
                  TS_ARCHIVE_ZIP);
}


static void
test_tgz_top_folder(void **state)
{
    fx_open_model(fx_archive(state, "mnist.tar.gz", FX_TGZ, "mnist/",
                             fx_model_manifest_first,
                             FX_COUNT(fx_model_manifest_first)),
                  TS_ARCHIVE_TGZ);

    fx_open_model(fx_archive(state, "last.tgz", FX_TGZ, "mnist/",
                             fx_model_manifest_last,
                             FX_COUNT(fx_model_manifest_last)),
                  TS_ARCHIVE_TGZ);

    /* "./mnist/..." as tar -C export . writes */
    fx_open_model(fx_archive(state, "dot.mar", FX_TGZ, "./mnist/",
                             fx_model_manifest_first,
                             FX_COUNT(fx_model_manifest_first)),
                  TS_ARCHIVE_TGZ);
}


static void
test_tar_uncompressed(void **state)
{
    fx_open_model(fx_archive(state, "mnist.tar", FX_TAR, "mnist/",
                             fx_model_manifest_first,
                             FX_COUNT(fx_model_manifest_first)),
                  TS_ARCHIVE_TGZ);
}


static void
test_folder(void **state)
{
    fx_open_model(fx_folder(state, "mnist", fx_model_manifest_last,
                            FX_COUNT(fx_model_manifest_last)),
                  TS_ARCHIVE_DIR);
}


static void
test_folder_lone_subfolder(void **state)
{
    fx_folder(state, "export/mnist", fx_model_manifest_first,
              FX_COUNT(fx_model_manifest_first));

    fx_open_model(fx_path(state, "export"), TS_ARCHIVE_DIR);
    fx_open_model(fx_path(state, "export/mnist"), TS_ARCHIVE_DIR);
}


static void
test_folder_two_subfolders(void **state)
{
    static const fx_entry_t  other[] = {
        { "other/x.txt", "x", 0, FX_FILE },
    };

    fx_folder(state, "export/mnist", fx_model_manifest_first,
              FX_COUNT(fx_model_manifest_first));
    fx_folder(state, "export", other, FX_COUNT(other));

    /* not descended into: which one would it be? */
    fx_assert_refused(fx_path(state, "export"), NULL,
                      "has no MAR-INF/MANIFEST.json", NULL);
}


static void
test_folder_through_symlink(void **state)
{
    fx_folder(state, "store/mnist", fx_model_manifest_first,
              FX_COUNT(fx_model_manifest_first));

    /* the path given is the administrator's: it may be a link */
    assert_int_equal(symlink("store/mnist", fx_path(state, "current")), 0);
    fx_open_model(fx_path(state, "current"), TS_ARCHIVE_DIR);
}


static void
test_utf8_names(void **state)
{
    size_t                    i;
    const char               *path;
    ts_archive_t             *a;
    static const char         name[] = "donn\xc3\xa9" "es/\xe6\x97\xa5.txt";
    static const fx_entry_t   e[] = {
        { "MAR-INF/MANIFEST.json", fx_manifest, 0, FX_FILE },
        { name, "x", 0, FX_FILE },
    };

    /* libarchive's writer needs a UTF-8 locale for UTF-8 names */
    if (setlocale(LC_CTYPE, "C.UTF-8") == NULL) {
        skip();
    }

    fx_archive(state, "utf8.mar", FX_ZIP, NULL, e, FX_COUNT(e));
    fx_archive(state, "utf8.tgz", FX_TGZ, "mnist/", e, FX_COUNT(e));

    /* nginx's locale: the names must come out all the same */
    assert_non_null(setlocale(LC_CTYPE, "C"));

    for (i = 0; i < 2; i++) {
        path = fx_path(state, i == 0 ? "utf8.mar" : "utf8.tgz");
        a = fx_open(path, NULL);
        fx_assert_file(a, name, "x", 1);
        ts_archive_free(a);
    }
}


static void
test_limits_exact(void **state)
{
    const char           *path;
    ts_archive_t         *a;
    ts_archive_limits_t   limits = { 0 };

    path = fx_archive(state, "mnist.mar", FX_ZIP, NULL,
                      fx_model_manifest_first,
                      FX_COUNT(fx_model_manifest_first));

    /* six files, the largest is the manifest: all exactly at the limits */
    limits.max_entries = 6;
    limits.max_entry_size = strlen(fx_manifest);
    limits.max_total_size = strlen(fx_manifest) + strlen(fx_weights)
                            + strlen(fx_config) + strlen(fx_index)
                            + strlen(fx_extra);

    for (limits.with_data = 0; limits.with_data <= 1; limits.with_data++) {
        a = fx_open(path, &limits);
        fx_assert_model(a, TS_ARCHIVE_ZIP, limits.with_data);
        ts_archive_free(a);
    }

    limits.with_data = 1;
    limits.max_entry_size--;
    fx_assert_refused(path, &limits, "MAR-INF/MANIFEST.json", "larger than",
                      NULL);

    limits.max_entry_size++;
    limits.max_total_size--;
    fx_assert_refused(path, &limits, "in total", NULL);

    limits.max_total_size++;
    limits.max_entries--;
    fx_assert_refused(path, &limits, "more than 5 entries", NULL);
}


/* --- refused archives --------------------------------------------------- */


static const fx_entry_t  fx_manifest_only[] = {
    { "MAR-INF/MANIFEST.json", fx_manifest, 0, FX_FILE },
};


static void
fx_assert_bad_name(void **state, const char *bad, const char *word)
{
    char                  pwned[PATH_MAX];
    const char           *path;
    fx_state_t           *fx = *state;
    fx_entry_t            e[2];
    struct stat           st;
    ts_archive_limits_t   limits = { 0 };

    e[0] = fx_manifest_only[0];
    e[1] = (fx_entry_t) { bad, "pwned\n", 0, FX_FILE };

    for (limits.with_data = 0; limits.with_data <= 1; limits.with_data++) {
        path = fx_archive(state, "evil.mar", FX_ZIP, NULL, e, 2);
        fx_assert_refused(path, &limits, path, bad, word, NULL);

        path = fx_archive(state, "evil.tgz", FX_TGZ, NULL, e, 2);
        fx_assert_refused(path, &limits, path, bad, word, NULL);

        fx_assert_only(state, "evil.mar", "evil.tgz", NULL);
    }

    snprintf(pwned, sizeof(pwned), "%s/pwned", fx->dir);
    assert_int_equal(lstat(pwned, &st), -1);
}


static void
test_dotdot(void **state)
{
    fx_assert_bad_name(state, "../evil", "\"..\" component");
    fx_assert_bad_name(state, "a/../../evil", "\"..\" component");
    fx_assert_bad_name(state, "a/..", "\"..\" component");
    fx_assert_bad_name(state, "..", "\"..\" component");
}


static void
test_absolute(void **state)
{
    char         abs_name[PATH_MAX];
    fx_state_t  *fx = *state;

    fx_assert_bad_name(state, "/etc/passwd", "absolute path");

    /* a name that would land in our own folder, to see nothing lands */
    snprintf(abs_name, sizeof(abs_name), "%s/pwned", fx->dir);
    fx_assert_bad_name(state, abs_name, "absolute path");
}


static void
test_dotdot_directory_entry(void **state)
{
    const char               *path;
    static const fx_entry_t   e[] = {
        { "MAR-INF/MANIFEST.json", fx_manifest, 0, FX_FILE },
        { "../up/", NULL, 0, FX_DIR },
    };

    path = fx_archive(state, "evil.mar", FX_ZIP, NULL, e, FX_COUNT(e));
    fx_assert_refused(path, NULL, "\"..\" component", NULL);
    fx_assert_only(state, "evil.mar", NULL);
}


static void
test_symlink_entry(void **state)
{
    const char               *path;
    static const fx_entry_t   e[] = {
        { "MAR-INF/MANIFEST.json", fx_manifest, 0, FX_FILE },
        { "mnist.pt", "/etc/passwd", 0, FX_SYMLINK },
    };

    path = fx_archive(state, "evil.mar", FX_ZIP, NULL, e, FX_COUNT(e));
    fx_assert_refused(path, NULL, path, "\"mnist.pt\" is a symbolic link",
                      NULL);

    path = fx_archive(state, "evil.tgz", FX_TGZ, "mnist/", e, FX_COUNT(e));
    fx_assert_refused(path, NULL, path,
                      "\"mnist/mnist.pt\" is a symbolic link", NULL);

    fx_assert_only(state, "evil.mar", "evil.tgz", NULL);
}


static void
test_hardlink_entry(void **state)
{
    const char               *path;
    static const fx_entry_t   e[] = {
        { "MAR-INF/MANIFEST.json", fx_manifest, 0, FX_FILE },
        { "mnist.pt", "/etc/shadow", 0, FX_HARDLINK },
    };

    path = fx_archive(state, "evil.tgz", FX_TGZ, "mnist/", e, FX_COUNT(e));
    fx_assert_refused(path, NULL, path, "\"mnist/mnist.pt\" is a hard link",
                      NULL);

    fx_assert_only(state, "evil.tgz", NULL);
}


static void
test_device_entry(void **state)
{
    const char               *path;
    static const fx_entry_t   e[] = {
        { "MAR-INF/MANIFEST.json", fx_manifest, 0, FX_FILE },
        { "null", NULL, 0, FX_CHRDEV },
    };

    path = fx_archive(state, "evil.tgz", FX_TGZ, "mnist/", e, FX_COUNT(e));
    fx_assert_refused(path, NULL, path,
                      "\"mnist/null\" is a character device", NULL);

    path = fx_archive(state, "evil.tar", FX_TAR, "mnist/", e, FX_COUNT(e));
    fx_assert_refused(path, NULL, path, "character device", NULL);

    fx_assert_only(state, "evil.tgz", "evil.tar", NULL);
}


#define FX_BOMB_SIZE  (10 << 20)


static void
test_zip_bomb(void **state)
{
    const char           *path;
    unsigned char        *zeros;
    struct stat           st;
    fx_entry_t            e[2];
    ts_archive_limits_t   limits = { 0 };

    zeros = calloc(1, FX_BOMB_SIZE);
    assert_non_null(zeros);

    e[0] = fx_manifest_only[0];
    e[1] = (fx_entry_t) { "mnist.pt", zeros, FX_BOMB_SIZE, FX_FILE };

    path = fx_archive(state, "bomb.mar", FX_ZIP, NULL, e, 2);
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size < 100000);

    limits.max_entry_size = 1 << 20;

    for (limits.with_data = 0; limits.with_data <= 1; limits.with_data++) {
        fx_assert_refused(path, &limits, path, "\"mnist.pt\"",
                          "larger than 1048576 bytes", NULL);
    }

    path = fx_archive(state, "bomb.tgz", FX_TGZ, "mnist/", e, 2);

    for (limits.with_data = 0; limits.with_data <= 1; limits.with_data++) {
        fx_assert_refused(path, &limits, path, "\"mnist.pt\"",
                          "larger than 1048576 bytes", NULL);
    }

    free(zeros);

    fx_assert_only(state, "bomb.mar", "bomb.tgz", NULL);
}


static void
test_total_size(void **state)
{
    const char           *path;
    unsigned char        *zeros;
    fx_entry_t            e[3];
    ts_archive_limits_t   limits = { 0 };

    zeros = calloc(1, 600 << 10);
    assert_non_null(zeros);

    e[0] = fx_manifest_only[0];
    e[1] = (fx_entry_t) { "a.bin", zeros, 600 << 10, FX_FILE };
    e[2] = (fx_entry_t) { "b.bin", zeros, 600 << 10, FX_FILE };

    path = fx_archive(state, "big.mar", FX_ZIP, NULL, e, 3);
    free(zeros);

    limits.max_entry_size = 1 << 20;
    limits.max_total_size = 1 << 20;

    for (limits.with_data = 0; limits.with_data <= 1; limits.with_data++) {
        fx_assert_refused(path, &limits, path,
                          "larger than 1048576 bytes in total", NULL);
    }

    limits.max_total_size = 2 << 20;
    ts_archive_free(fx_open(path, &limits));

    fx_assert_only(state, "big.mar", NULL);
}


/* patches every (or the first) 32-bit field at "at" after a signature */

static void
fx_patch_zip(unsigned char *buf, size_t len, const char *signature,
    size_t at, uint32_t value, int first_only)
{
    size_t  i, patched;

    patched = 0;

    for (i = 0; i + at + 4 <= len; i++) {
        if (memcmp(buf + i, signature, 4) == 0) {
            buf[i + at] = value & 0xff;
            buf[i + at + 1] = (value >> 8) & 0xff;
            buf[i + at + 2] = (value >> 16) & 0xff;
            buf[i + at + 3] = (value >> 24) & 0xff;
            patched++;

            if (first_only) {
                break;
            }
        }
    }

    assert_true(patched > 0);
}


/* the size the first entry's header claims, as libarchive reads it */

static la_int64_t
fx_header_size(const char *path)
{
    la_int64_t             size;
    struct archive        *a;
    struct archive_entry  *entry;

    a = archive_read_new();
    assert_non_null(a);
    archive_read_support_format_zip(a);
    assert_int_equal(archive_read_open_filename(a, path, 10240), ARCHIVE_OK);
    assert_true(archive_read_next_header(a, &entry) >= ARCHIVE_WARN);
    assert_true(archive_entry_size_is_set(entry));
    size = archive_entry_size(entry);
    archive_read_free(a);

    return size;
}


static void
test_zip_bomb_lying_header(void **state)
{
    int                   fd;
    size_t                len;
    ssize_t               n;
    const char           *path;
    unsigned char        *zeros, buf[200000];
    fx_entry_t            e[1];
    ts_archive_limits_t   limits = { 0 };

    zeros = calloc(1, FX_BOMB_SIZE);
    assert_non_null(zeros);

    /* one entry only, so that every header patched is the bomb's */
    e[0] = (fx_entry_t) { "MAR-INF/MANIFEST.json", zeros, FX_BOMB_SIZE,
                          FX_FILE };

    path = fx_archive(state, "liar.mar", FX_ZIP, NULL, e, 1);
    free(zeros);

    fd = open(path, O_RDONLY);
    assert_true(fd != -1);
    n = read(fd, buf, sizeof(buf));
    close(fd);
    assert_true(n > 0 && (size_t) n < sizeof(buf));
    len = (size_t) n;

    /* claim 100 bytes: local header, central directory, data descriptor */
    fx_patch_zip(buf, len, "PK\003\004", 22, 100, 0);
    fx_patch_zip(buf, len, "PK\001\002", 24, 100, 0);
    fx_patch_zip(buf, len, "PK\007\010", 12, 100, 0);

    fx_write_file(path, buf, len);

    /* libarchive believes the lie */
    assert_int_equal(fx_header_size(path), 100);

    limits.max_entry_size = 1 << 20;

    for (limits.with_data = 0; limits.with_data <= 1; limits.with_data++) {
        fx_assert_refused(path, &limits, path, "MAR-INF/MANIFEST.json",
                          "larger than 1048576 bytes", NULL);
    }

    /* within the limits, the lie is found once the data is read */
    limits.max_entry_size = 2 * FX_BOMB_SIZE;
    fx_assert_refused(path, &limits, path, "MAR-INF/MANIFEST.json",
                      "wrong size", NULL);

    fx_assert_only(state, "liar.mar", NULL);
}


static void
test_too_many_entries(void **state)
{
    char                  names[20][16];
    size_t                i;
    const char           *path;
    fx_entry_t            e[21];
    ts_archive_limits_t   limits = { 0 };

    e[0] = fx_manifest_only[0];

    for (i = 0; i < 20; i++) {
        snprintf(names[i], sizeof(names[i]), "f%02zu.txt", i);
        e[i + 1] = (fx_entry_t) { names[i], "x", 0, FX_FILE };
    }

    limits.max_entries = 10;

    path = fx_archive(state, "many.mar", FX_ZIP, NULL, e, 21);
    fx_assert_refused(path, &limits, path, "more than 10 entries", NULL);

    path = fx_archive(state, "many.tgz", FX_TGZ, "m/", e, 21);
    fx_assert_refused(path, &limits, path, "more than 10 entries", NULL);

    fx_folder(state, "many", e, 21);
    fx_assert_refused(fx_path(state, "many"), &limits,
                      "more than 10 entries", NULL);

    limits.max_entries = 21;
    ts_archive_free(fx_open(fx_path(state, "many.mar"), &limits));
}


static void
test_truncated(void **state)
{
    const char   *path;
    struct stat   st;

    path = fx_archive(state, "cut.mar", FX_ZIP, NULL,
                      fx_model_manifest_first,
                      FX_COUNT(fx_model_manifest_first));
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(truncate(path, st.st_size / 2), 0);

    fx_assert_refused(path, NULL, path, NULL);

    path = fx_archive(state, "cut.tgz", FX_TGZ, "mnist/",
                      fx_model_manifest_first,
                      FX_COUNT(fx_model_manifest_first));
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(truncate(path, st.st_size / 2), 0);

    fx_assert_refused(path, NULL, path, NULL);

    fx_assert_only(state, "cut.mar", "cut.tgz", NULL);
}


static void
test_corrupt_zip_data(void **state)
{
    int            fd;
    ssize_t        n;
    const char    *path;
    unsigned char  buf[4096], *p;

    path = fx_archive(state, "bad.mar", FX_ZIP_STORE, NULL,
                      fx_model_manifest_first,
                      FX_COUNT(fx_model_manifest_first));

    fd = open(path, O_RDONLY);
    n = read(fd, buf, sizeof(buf));
    close(fd);
    assert_true(n > 18);

    /* flip a byte of the stored weights: the CRC no longer matches */
    for (p = buf; p < buf + n - 18; p++) {
        if (memcmp(p, "not really weights", 18) == 0) {
            break;
        }
    }

    assert_true(p < buf + n - 18);
    p[0] = 'N';
    fx_write_file(path, buf, (size_t) n);

    fx_assert_refused(path, NULL, path, "mnist.pt", "CRC", NULL);
    fx_assert_only(state, "bad.mar", NULL);
}


static void
test_not_an_archive(void **state)
{
    const char  *path;

    path = fx_path(state, "mnist.mar");
    fx_write_file(path, "hello, world\n", 13);
    fx_assert_refused(path, NULL, path, "is not a zip", NULL);

    path = fx_path(state, "empty.mar");
    fx_write_file(path, "", 0);
    fx_assert_refused(path, NULL, path, "is not a zip", NULL);

    /* gzip, but no tar inside */
    path = fx_path(state, "text.gz");
    fx_write_file(path, "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"
                  "\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20);
    fx_assert_refused(path, NULL, path, NULL);

    fx_assert_only(state, "mnist.mar", "empty.mar", "text.gz", NULL);
}


static void
test_missing_path(void **state)
{
    const char  *path;

    path = fx_path(state, "nothing.mar");
    fx_assert_refused(path, NULL, "cannot open", path,
                      "No such file or directory", NULL);

    fx_assert_only(state, NULL);
}


static void
test_fifo_path(void **state)
{
    const char  *path;

    path = fx_path(state, "fifo.mar");
    assert_int_equal(mkfifo(path, 0644), 0);

    /* refused at once: nobody will ever write into it */
    fx_assert_refused(path, NULL, path, "FIFO", NULL);
    fx_assert_only(state, "fifo.mar", NULL);
}


static void
test_no_manifest(void **state)
{
    const char               *path;
    static const fx_entry_t   e[] = {
        { "mnist.pt", fx_weights, 0, FX_FILE },
        { "MAR-INF/manifest.json", fx_manifest, 0, FX_FILE },
    };

    path = fx_archive(state, "legacy.mar", FX_ZIP, NULL, e, FX_COUNT(e));
    fx_assert_refused(path, NULL, path, "has no MAR-INF/MANIFEST.json",
                      NULL);

    /* a tgz without a top folder: MAR-INF is taken as the top */
    path = fx_archive(state, "flat.tgz", FX_TGZ, NULL, fx_manifest_only,
                      FX_COUNT(fx_manifest_only));
    fx_assert_refused(path, NULL, path, "has no MAR-INF/MANIFEST.json",
                      NULL);

    fx_assert_only(state, "legacy.mar", "flat.tgz", NULL);
}


static void
test_bad_manifest(void **state)
{
    const char               *path;
    static const fx_entry_t   e[] = {
        { "MAR-INF/MANIFEST.json", "{\n  \"model\": {\"modelName\": 1}\n}",
          0, FX_FILE },
    };
    static const fx_entry_t   e2[] = {
        { "MAR-INF/MANIFEST.json", "{\n  \"model\": {\n", 0, FX_FILE },
    };
    ts_archive_limits_t       limits = { 0 };

    path = fx_archive(state, "bad.mar", FX_ZIP, NULL, e, FX_COUNT(e));
    fx_assert_refused(path, &limits, path, "MAR-INF/MANIFEST.json",
                      "\"model.modelName\" is not a string", NULL);

    path = fx_archive(state, "bad.tgz", FX_TGZ, "m/", e2, FX_COUNT(e2));
    fx_assert_refused(path, &limits, path, "MAR-INF/MANIFEST.json",
                      "invalid JSON at line 3", NULL);

    fx_assert_only(state, "bad.mar", "bad.tgz", NULL);
}


static void
test_duplicate_entries(void **state)
{
    const char               *path;
    static const fx_entry_t   e[] = {
        { "MAR-INF/MANIFEST.json", fx_manifest, 0, FX_FILE },
        { "mnist.pt", "one", 0, FX_FILE },
        { "./mnist.pt", "two", 0, FX_FILE },
    };
    static const fx_entry_t   t[] = {
        { "a/MAR-INF/MANIFEST.json", fx_manifest, 0, FX_FILE },
        { "a/mnist.pt", "one", 0, FX_FILE },
        { "b/mnist.pt", "two", 0, FX_FILE },
    };

    path = fx_archive(state, "twice.mar", FX_ZIP, NULL, e, FX_COUNT(e));
    fx_assert_refused(path, NULL, path, "\"mnist.pt\" appears twice", NULL);

    path = fx_archive(state, "twice.tgz", FX_TGZ, NULL, t, FX_COUNT(t));
    fx_assert_refused(path, NULL, path, "\"mnist.pt\" appears twice", NULL);

    fx_assert_only(state, "twice.mar", "twice.tgz", NULL);
}


static void
test_folder_symlink(void **state)
{
    const char               *path;
    static const fx_entry_t   e[] = {
        { "MAR-INF/MANIFEST.json", fx_manifest, 0, FX_FILE },
        { "extra/passwd", "/etc/passwd", 0, FX_SYMLINK },
    };

    path = fx_folder(state, "mnist", e, FX_COUNT(e));
    fx_assert_refused(path, NULL, path,
                      "\"extra/passwd\" is a symbolic link", NULL);

    fx_assert_only(state, "mnist", "mnist/MAR-INF",
                   "mnist/MAR-INF/MANIFEST.json", "mnist/extra",
                   "mnist/extra/passwd", NULL);
}


static void
test_folder_symlinked_folder(void **state)
{
    const char               *path;
    static const fx_entry_t   e[] = {
        { "MAR-INF/MANIFEST.json", fx_manifest, 0, FX_FILE },
        { "etc", "/etc", 0, FX_SYMLINK },
    };
    static const fx_entry_t   lone[] = {
        { "model", "../real", 0, FX_SYMLINK },
    };

    path = fx_folder(state, "mnist", e, FX_COUNT(e));
    fx_assert_refused(path, NULL, path, "\"etc\" is a symbolic link", NULL);

    /* a lone symlinked sub-folder is not descended into either */
    fx_folder(state, "real", fx_manifest_only, FX_COUNT(fx_manifest_only));
    path = fx_folder(state, "export", lone, FX_COUNT(lone));
    fx_assert_refused(path, NULL, path, "\"model\" is a symbolic link",
                      NULL);
}


static void
test_folder_fifo(void **state)
{
    const char               *path;
    static const fx_entry_t   e[] = {
        { "MAR-INF/MANIFEST.json", fx_manifest, 0, FX_FILE },
        { "pipe", NULL, 0, FX_FIFO },
    };

    path = fx_folder(state, "mnist", e, FX_COUNT(e));
    fx_assert_refused(path, NULL, path, "\"pipe\" is a FIFO", NULL);

    fx_assert_only(state, "mnist", "mnist/MAR-INF",
                   "mnist/MAR-INF/MANIFEST.json", "mnist/pipe", NULL);
}


static void
test_folder_limits(void **state)
{
    const char           *path;
    ts_archive_limits_t   limits = { 0 };

    path = fx_folder(state, "mnist", fx_model_manifest_first,
                     FX_COUNT(fx_model_manifest_first));

    limits.max_entry_size = 10;

    for (limits.with_data = 0; limits.with_data <= 1; limits.with_data++) {
        fx_assert_refused(path, &limits, path, "larger than 10 bytes", NULL);
    }
}


/* --- TorchScript checks ------------------------------------------------- */


static const char  fx_manifest_ts[] =
    "{\"model\": {\"modelName\": \"mnist\", \"serializedFile\": \"mnist.pt\","
    " \"handler\": \"image_classifier\", \"modelVersion\": \"1.0\"}}";

static const char  fx_manifest_eager[] =
    "{\"model\": {\"modelName\": \"mnist\","
    " \"serializedFile\": \"mnist_sd.pt\", \"modelFile\": \"mnist_model.py\","
    " \"handler\": \"image_classifier\", \"modelVersion\": \"1.0\"}}";

static const char  fx_manifest_no_serialized[] =
    "{\"model\": {\"modelName\": \"mnist\", \"handler\": \"handler.py\","
    " \"modelVersion\": \"1.0\"}}";


static const fx_entry_t  fx_torchscript_zip[] = {
    { "m/code/__torch__/x.py", "def forward(self, x):\n  return x\n", 0,
      FX_FILE },
    { "m/constants.pkl", "\x80\x02)", 0, FX_FILE },
    { "m/data.pkl", "\x80\x02}", 0, FX_FILE },
    { "m/version", "3\n", 0, FX_FILE },
};

static const fx_entry_t  fx_state_dict_zip[] = {
    { "archive/data.pkl", "\x80\x02}", 0, FX_FILE },
    { "archive/data/0", "\0\0\0\0", 4, FX_FILE },
    { "archive/version", "3\n", 0, FX_FILE },
};


/* the archive of one manifest and one serialized file; returns the path */

static const char *
fx_model(void **state, const char *manifest, const char *file_name,
    const void *file, size_t size)
{
    fx_entry_t  e[2];

    e[0] = (fx_entry_t) { "MAR-INF/MANIFEST.json", manifest, 0, FX_FILE };
    e[1] = (fx_entry_t) { file_name, file, size, FX_FILE };

    return fx_archive(state, "model.mar", FX_ZIP, NULL, e, 2);
}


/* without data, the check reads the archive again: it too writes nothing */

static int
fx_check_quietly(const ts_archive_t *a, char *err, size_t errlen)
{
    int    rc;
    char  *before, *after;

    before = fx_tree(".");
    rc = ts_archive_check_torchscript(a, err, errlen);
    after = fx_tree(".");

    assert_string_equal(before, after);

    free(before);
    free(after);

    return rc;
}


static void
fx_assert_check(const char *path, int with_data, int ok, ...)
{
    int                   rc;
    char                  err[1024];
    va_list               args;
    const char           *word;
    ts_archive_t         *a;
    ts_archive_limits_t   limits = { 0 };

    limits.with_data = with_data;
    a = fx_open(path, &limits);

    err[0] = '\0';

    rc = fx_check_quietly(a, err, sizeof(err));
    ts_archive_free(a);

    if (ok) {
        if (rc != 0) {
            fail_msg("refused: %s", err);
        }

        return;
    }

    if (rc == 0) {
        fail_msg("\"%s\" was accepted", path);
    }

    va_start(args, ok);

    while ((word = va_arg(args, const char *)) != NULL) {
        if (strstr(err, word) == NULL) {
            va_end(args);
            fail_msg("\"%s\" not in the message \"%s\"", word, err);
        }
    }

    va_end(args);
}


static void
test_check_torchscript_ok(void **state)
{
    size_t          size;
    const char     *path;
    unsigned char  *zip;

    zip = fx_zip_memory(fx_torchscript_zip, FX_COUNT(fx_torchscript_zip),
                        &size);
    path = fx_model(state, fx_manifest_ts, "mnist.pt", zip, size);
    free(zip);

    fx_assert_check(path, 1, 1);
    fx_assert_check(path, 0, 1);
}


static void
test_check_no_serialized_file(void **state)
{
    const char  *path;

    path = fx_model(state, fx_manifest_no_serialized, "handler.py",
                    "import torch\n", 0);

    fx_assert_check(path, 1, 0, "\"mnist\"", path, "no serializedFile",
                    "TorchScript", NULL);
    fx_assert_check(path, 0, 0, "no serializedFile", NULL);
}


static void
test_check_serialized_file_absent(void **state)
{
    const char  *path;

    path = fx_model(state, fx_manifest_ts, "other.pt", "x", 0);

    fx_assert_check(path, 1, 0, path, "\"mnist.pt\"", "not in the archive",
                    NULL);
    fx_assert_check(path, 0, 0, "\"mnist.pt\"", "not in the archive", NULL);
}


static void
test_check_eager_model_file(void **state)
{
    size_t          size;
    const char     *path;
    unsigned char  *zip;

    zip = fx_zip_memory(fx_state_dict_zip, FX_COUNT(fx_state_dict_zip),
                        &size);
    path = fx_model(state, fx_manifest_eager, "mnist_sd.pt", zip, size);
    free(zip);

    fx_assert_check(path, 1, 0, "model \"mnist\"", path,
                    "eager-mode model",
                    "modelFile mnist_model.py with a state_dict in "
                    "mnist_sd.pt",
                    "only TorchScript models can be served",
                    "archive_tool --export-torchscript",
                    "torch.jit.script or torch.jit.trace", NULL);

    /* the manifest alone says it: no data needed */
    fx_assert_check(path, 0, 0, "eager-mode model", "--export-torchscript",
                    NULL);
}


static void
test_check_state_dict_zip(void **state)
{
    size_t          size;
    const char     *path;
    unsigned char  *zip;

    /* no modelFile in the manifest, but the .pt is a torch.save zip */
    zip = fx_zip_memory(fx_state_dict_zip, FX_COUNT(fx_state_dict_zip),
                        &size);
    path = fx_model(state, fx_manifest_ts, "mnist.pt", zip, size);
    free(zip);

    fx_assert_check(path, 1, 0, "model \"mnist\"", path, "eager-mode model",
                    "state_dict in mnist.pt", "--export-torchscript", NULL);

    /* without data (nginx -t), the file is read again, streamed */
    fx_assert_check(path, 0, 0, "model \"mnist\"", path, "eager-mode model",
                    "state_dict in mnist.pt", "--export-torchscript", NULL);
}


static void
test_check_not_a_zip(void **state)
{
    const char  *path;

    path = fx_model(state, fx_manifest_ts, "mnist.pt",
                    "\x80\x02\x8a\x0alegacy pickle", 0);

    fx_assert_check(path, 1, 0, "\"mnist.pt\"", "not a TorchScript file",
                    NULL);
    fx_assert_check(path, 0, 0, "\"mnist.pt\"", "not a TorchScript file",
                    "(not a zip archive)", NULL);
}


/* --- TorchScript checks without data: the serialized file streamed ----- */


typedef enum {
    FX_IN_ZIP = 0,
    FX_IN_TGZ,
    FX_IN_FOLDER,
    FX_IN_LONE_FOLDER,      /* the model in the folder's only sub-folder */
    FX_IN_LAYOUTS
} fx_layout_e;


static const char  *fx_layout_names[] = {
    "zip", "tgz", "folder", "lone folder"
};


/* one manifest and one serialized file in a layout; returns the path */

static const char *
fx_model_in(void **state, fx_layout_e layout, const char *manifest,
    const char *file_name, const void *file, size_t size)
{
    char        name[PATH_MAX];
    fx_entry_t  e[2];

    e[0] = (fx_entry_t) { "MAR-INF/MANIFEST.json", manifest, 0, FX_FILE };
    e[1] = (fx_entry_t) { file_name, file, size, FX_FILE };

    switch (layout) {

    case FX_IN_ZIP:
        return fx_archive(state, "model.mar", FX_ZIP, NULL, e, 2);

    case FX_IN_TGZ:
        return fx_archive(state, "model.tar.gz", FX_TGZ, "mnist/", e, 2);

    case FX_IN_FOLDER:
        return fx_folder(state, "model", e, 2);

    default:
        snprintf(name, sizeof(name), "mnist/%s", file_name);
        e[0].name = "mnist/MAR-INF/MANIFEST.json";
        e[1].name = name;
        fx_folder(state, "lone", e, 2);
        return fx_path(state, "lone");
    }
}


/*
 * A TorchScript zip in torch.jit.save's order: the tensors first, then
 * data.pkl, code/, constants.pkl; data/0 is size bytes, so the sniffer
 * streams through many 64 KB blocks before the answer.
 */

static unsigned char *
fx_torchscript_ordered(size_t size, size_t *zip_size)
{
    unsigned char  *zeros, *zip;
    fx_entry_t      e[5];

    zeros = calloc(1, size);
    assert_non_null(zeros);

    e[0] = (fx_entry_t) { "archive/data/0", zeros, size, FX_FILE };
    e[1] = (fx_entry_t) { "archive/data.pkl", "\x80\x02}", 0, FX_FILE };
    e[2] = (fx_entry_t) { "archive/code/__torch__/m.py",
                          "def forward(self, x):\n  return x\n", 0,
                          FX_FILE };
    e[3] = (fx_entry_t) { "archive/constants.pkl", "\x80\x02)", 0, FX_FILE };
    e[4] = (fx_entry_t) { "archive/version", "3\n", 0, FX_FILE };

    zip = fx_zip_memory(e, 5, zip_size);
    free(zeros);

    return zip;
}


/* a torch.save state_dict zip whose one tensor is size bytes */

static unsigned char *
fx_state_dict_sized(size_t size, size_t *zip_size)
{
    unsigned char  *zeros, *zip;
    fx_entry_t      e[3];

    zeros = calloc(1, size);
    assert_non_null(zeros);

    e[0] = (fx_entry_t) { "archive/data.pkl", "\x80\x02}", 0, FX_FILE };
    e[1] = (fx_entry_t) { "archive/data/0", zeros, size, FX_FILE };
    e[2] = (fx_entry_t) { "archive/version", "3\n", 0, FX_FILE };

    zip = fx_zip_memory(e, 3, zip_size);
    free(zeros);

    return zip;
}


static void
test_check_stream_torchscript(void **state)
{
    size_t          size;
    const char     *path;
    fx_layout_e     layout;
    unsigned char  *zip;

    zip = fx_torchscript_ordered(3 << 20, &size);

    for (layout = 0; layout < FX_IN_LAYOUTS; layout++) {
        print_message("    %s\n", fx_layout_names[layout]);
        path = fx_model_in(state, layout, fx_manifest_ts, "mnist.pt", zip,
                           size);
        fx_assert_check(path, 0, 1);
        fx_assert_check(path, 1, 1);
    }

    free(zip);
}


static void
test_check_stream_state_dict(void **state)
{
    int             with_data;
    size_t          size;
    const char     *path;
    fx_layout_e     layout;
    unsigned char  *zip;

    zip = fx_state_dict_sized(300000, &size);

    for (layout = 0; layout < FX_IN_LAYOUTS; layout++) {
        print_message("    %s\n", fx_layout_names[layout]);
        path = fx_model_in(state, layout, fx_manifest_ts, "mnist.pt", zip,
                           size);

        for (with_data = 0; with_data <= 1; with_data++) {
            fx_assert_check(path, with_data, 0, "model \"mnist\"", path,
                            "eager-mode model", "state_dict in mnist.pt",
                            "convert it with archive_tool "
                            "--export-torchscript", NULL);
        }
    }

    free(zip);
}


static void
test_check_stream_not_torchscript(void **state)
{
    int                   with_data;
    char                  random[100000];
    size_t                i, k, size;
    const char           *path;
    fx_layout_e           layout;
    unsigned char        *zip;
    static const fx_entry_t  readme[] = {
        { "archive/readme.txt", "not a model\n", 0, FX_FILE },
    };
    struct {
        const void  *data;
        size_t       size;
        const char  *why;
    }  files[4];

    srand(18);

    for (i = 0; i < sizeof(random); i++) {
        random[i] = (char) (rand() & 0xff);
    }

    random[0] = 'x';        /* not "PK" by chance */

    zip = fx_zip_memory(readme, FX_COUNT(readme), &size);

    files[0].data = "\x80\x02\x8a\x0alegacy pickle";
    files[0].size = 0;
    files[0].why = "(not a zip archive)";
    files[1].data = random;
    files[1].size = sizeof(random);
    files[1].why = "(not a zip archive)";
    files[2].data = zip;
    files[2].size = size;
    files[2].why = "(no code/ or constants.pkl in it)";
    files[3].data = fx_weights;     /* a zip's magic, then nonsense */
    files[3].size = 0;
    files[3].why = "(";

    for (layout = 0; layout < FX_IN_LAYOUTS; layout++) {
        for (k = 0; k < FX_COUNT(files); k++) {
            print_message("    %s, file %zu\n", fx_layout_names[layout], k);
            path = fx_model_in(state, layout, fx_manifest_ts, "mnist.pt",
                               files[k].data, files[k].size);

            for (with_data = 0; with_data <= 1; with_data++) {
                fx_assert_check(path, with_data, 0, "model \"mnist\"", path,
                                "serializedFile \"mnist.pt\" is not a "
                                "TorchScript file", files[k].why, NULL);
            }
        }
    }

    free(zip);
}


/*
 * Without data, the first pass trusts the headers; the streamed pass
 * counts the bytes that come out, so a header that lies about the
 * serializedFile is caught by the limits there, in bounded memory.
 */

static void
test_check_stream_limits(void **state)
{
    int                   fd;
    char                  err[1024];
    size_t                size, len;
    ssize_t               n;
    const char           *path;
    fx_entry_t            e[2];
    ts_archive_t         *a;
    unsigned char        *zip, *buf;
    ts_archive_limits_t   limits = { 0 };

    zip = fx_torchscript_ordered(3 << 20, &size);

    /* the serialized file first: its headers are the first ones patched */
    e[0] = (fx_entry_t) { "mnist.pt", zip, size, FX_FILE };
    e[1] = (fx_entry_t) { "MAR-INF/MANIFEST.json", fx_manifest_ts, 0,
                          FX_FILE };
    path = fx_archive(state, "liar.mar", FX_ZIP, NULL, e, 2);
    free(zip);

    buf = malloc(1 << 20);
    assert_non_null(buf);
    fd = open(path, O_RDONLY);
    assert_true(fd != -1);
    n = read(fd, buf, 1 << 20);
    close(fd);
    assert_true(n > 0 && n < (1 << 20));
    len = (size_t) n;

    /* mnist.pt claims 100 bytes: local header, central directory, descriptor */
    fx_patch_zip(buf, len, "PK\003\004", 22, 100, 1);
    fx_patch_zip(buf, len, "PK\001\002", 24, 100, 1);
    fx_patch_zip(buf, len, "PK\007\010", 12, 100, 1);
    fx_write_file(path, buf, len);
    free(buf);

    limits.max_entry_size = 1 << 20;
    limits.with_data = 0;

    a = fx_open(path, &limits);
    assert_int_equal(ts_archive_find(a, "mnist.pt")->size, 100);

    err[0] = '\0';
    assert_int_not_equal(fx_check_quietly(a, err, sizeof(err)), 0);
    ts_archive_free(a);

    if (strstr(err, "entry \"mnist.pt\" is larger than 1048576 bytes")
        == NULL)
    {
        fail_msg("unexpected message \"%s\"", err);
    }

    fx_assert_only(state, "liar.mar", NULL);
}


/* the archive replaced between nginx -t's open and its check */

static void
test_check_stream_archive_changed(void **state)
{
    char                  err[1024];
    size_t                size;
    const char           *path;
    ts_archive_t         *a;
    unsigned char        *zip;
    ts_archive_limits_t   limits = { 0 };

    zip = fx_torchscript_ordered(1000, &size);
    path = fx_model(state, fx_manifest_ts, "mnist.pt", zip, size);
    free(zip);

    a = fx_open(path, &limits);

    path = fx_model(state, fx_manifest_ts, "other.pt", "x", 0);

    err[0] = '\0';
    assert_int_not_equal(fx_check_quietly(a, err, sizeof(err)), 0);
    ts_archive_free(a);

    if (strstr(err, "entry \"mnist.pt\" is gone") == NULL) {
        fail_msg("unexpected message \"%s\"", err);
    }
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
#define T(name)  cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
        T(test_zip_deflate),
        T(test_zip_store),
        T(test_zip_manifest_last),
        T(test_zip_any_name),
        T(test_tgz_top_folder),
        T(test_tar_uncompressed),
        T(test_folder),
        T(test_folder_lone_subfolder),
        T(test_folder_two_subfolders),
        T(test_folder_through_symlink),
        T(test_utf8_names),
        T(test_limits_exact),
        T(test_dotdot),
        T(test_absolute),
        T(test_dotdot_directory_entry),
        T(test_symlink_entry),
        T(test_hardlink_entry),
        T(test_device_entry),
        T(test_zip_bomb),
        T(test_total_size),
        T(test_zip_bomb_lying_header),
        T(test_too_many_entries),
        T(test_truncated),
        T(test_corrupt_zip_data),
        T(test_not_an_archive),
        T(test_missing_path),
        T(test_fifo_path),
        T(test_no_manifest),
        T(test_bad_manifest),
        T(test_duplicate_entries),
        T(test_folder_symlink),
        T(test_folder_symlinked_folder),
        T(test_folder_fifo),
        T(test_folder_limits),
        T(test_check_torchscript_ok),
        T(test_check_no_serialized_file),
        T(test_check_serialized_file_absent),
        T(test_check_eager_model_file),
        T(test_check_state_dict_zip),
        T(test_check_not_a_zip),
        T(test_check_stream_torchscript),
        T(test_check_stream_state_dict),
        T(test_check_stream_not_torchscript),
        T(test_check_stream_limits),
        T(test_check_stream_archive_changed),
#undef T
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
