/*
 * fuzz_archive_dir.c: libFuzzer target for a model folder ("no-archive")
 * read as an archive (ts_archive_open on a folder,
 * runtime/ts_archive_folder.c): its MAR-INF/MANIFEST.json and the
 * TorchScript check of the serializedFile it names, read from the
 * folder's file in memory or streamed from its fd on a second pass.
 *
 * One input is "MANIFEST.json\0model.pt": the manifest, and the bytes of
 * a file model.pt beside it (no NUL: no model.pt).  They are written into
 * a private folder (on tmpfs when there is one) that also holds
 * model-config.yaml and sub/extra.txt, under a lone top folder.  The model
 * folder is opened with its data, and the top folder (which the reader
 * descends) without; each is checked (fuzz_archive_check.h) and its
 * serializedFile checked as TorchScript.
 */

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ts_archive.h"

#include "fuzz_archive_check.h"
#include "fuzz_util.h"


static const ts_archive_limits_t  fuzz_limits = {
    1 << 20,                    /* max_entry_size */
    4 << 20,                    /* max_total_size */
    64,                         /* max_entries */
    1                           /* with_data */
};


static char  fuzz_top[256];
static char  fuzz_model[300];
static char  fuzz_manifest[350];
static char  fuzz_pt[350];


static void
fuzz_write(const char *path, const void *data, size_t size)
{
    int  fd;

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    if (fd == -1 || write(fd, data, size) != (ssize_t) size) {
        fprintf(stderr, "fuzz_archive_dir: %s: %s\n", path, strerror(errno));
        abort();
    }

    close(fd);
}


static void
fuzz_mkdir(const char *fmt, const char *a, const char *b)
{
    char  path[512];

    snprintf(path, sizeof(path), fmt, a, b);

    if (mkdir(path, 0700) != 0) {
        fprintf(stderr, "fuzz_archive_dir: %s: %s\n", path, strerror(errno));
        abort();
    }
}


static void
fuzz_cleanup(void)
{
    ts_archive_remove_tree(fuzz_top);
}


static void
fuzz_setup(void)
{
    char         path[512];
    const char  *tmp;

    static const char  config[] = "minWorkers: 1\nhandler:\n  k: v\n";

    if (fuzz_top[0] != '\0') {
        return;
    }

    tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(fuzz_top, sizeof(fuzz_top), "%s/fuzz_archive_dir.XXXXXX", tmp);

    if (mkdtemp(fuzz_top) == NULL) {
        fprintf(stderr, "fuzz_archive_dir: mkdtemp: %s\n", strerror(errno));
        abort();
    }

    atexit(fuzz_cleanup);

    snprintf(fuzz_model, sizeof(fuzz_model), "%s/m", fuzz_top);
    snprintf(fuzz_manifest, sizeof(fuzz_manifest), "%s/MAR-INF/MANIFEST.json",
             fuzz_model);
    snprintf(fuzz_pt, sizeof(fuzz_pt), "%s/model.pt", fuzz_model);

    fuzz_mkdir("%s%s", fuzz_model, "");
    fuzz_mkdir("%s/%s", fuzz_model, "MAR-INF");
    fuzz_mkdir("%s/%s", fuzz_model, "sub");

    snprintf(path, sizeof(path), "%s/model-config.yaml", fuzz_model);
    fuzz_write(path, config, sizeof(config) - 1);

    snprintf(path, sizeof(path), "%s/sub/extra.txt", fuzz_model);
    fuzz_write(path, "extra\n", 6);
}


static void
fuzz_open(const char *path, const ts_archive_limits_t *limits)
{
    char           err[1024];
    ts_archive_t  *a;

    err[0] = '\0';
    a = ts_archive_open(path, limits, err, sizeof(err));

    if (a == NULL) {
        FUZZ_CHECK(err[0] != '\0', "a refusal without a message");
        return;
    }

    FUZZ_CHECK(a->format == TS_ARCHIVE_DIR, "format %d", (int) a->format);
    fuzz_check_archive(a, limits);

    (void) ts_archive_check_torchscript(a, err, sizeof(err));

    ts_archive_free(a);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t               n;
    const uint8_t       *nul;
    ts_archive_limits_t  limits;

    fuzz_setup();

    nul = memchr(data, '\0', size);
    n = nul ? (size_t) (nul - data) : size;

    fuzz_write(fuzz_manifest, data, n);

    if (nul != NULL) {
        fuzz_write(fuzz_pt, nul + 1, size - n - 1);

    } else if (unlink(fuzz_pt) != 0 && errno != ENOENT) {
        fprintf(stderr, "fuzz_archive_dir: %s: %s\n", fuzz_pt,
                strerror(errno));
        abort();
    }

    limits = fuzz_limits;
    fuzz_open(fuzz_model, &limits);

    limits.with_data = 0;
    fuzz_open(fuzz_top, &limits);

    return 0;
}
