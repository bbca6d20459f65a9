/*
 * fuzz_archive.c: libFuzzer target for model archives read into memory
 * (ts_archive_open, runtime/ts_archive*.c): zip (deflate or stored), tar,
 * tar.gz, through libarchive, the manifest in them, the TorchScript check
 * of the serializedFile (ts_archive_check_torchscript: the inner zip read
 * as a stream) and, for what opens, ts_archive_unpack.
 *
 * One input is the archive file's bytes.  ts_archive_open takes a path,
 * so the bytes go into a memfd reached as /proc/self/fd/N (a regular
 * file, no disk).  Each input is opened twice, under small limits: with
 * its data (then checked as TorchScript, unpacked and removed), and
 * without (the manifest and YAML files only; the check then reads the
 * archive a second time).
 *
 * Checks: the files are sorted and unique, with safe names (relative, no
 * "." or ".." component, no empty one); loaded data is NUL-terminated;
 * sizes respect the limits; the manifest names a model; unpacking writes
 * inside its own folder only.
 */

#define _GNU_SOURCE             /* memfd_create */

#include <dirent.h>
#include <errno.h>
#include <sys/mman.h>
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


static int   fuzz_fd = -1;
static char  fuzz_path[64];
static char  fuzz_parent[256];


static void
fuzz_cleanup(void)
{
    (void) rmdir(fuzz_parent);
}


static int
fuzz_setup(void)
{
    const char  *tmp;

    if (fuzz_fd != -1) {
        return 0;
    }

    fuzz_fd = memfd_create("fuzz_archive", MFD_CLOEXEC);
    if (fuzz_fd == -1) {
        fprintf(stderr, "fuzz_archive: memfd_create: %s\n", strerror(errno));
        abort();
    }

    snprintf(fuzz_path, sizeof(fuzz_path), "/proc/self/fd/%d", fuzz_fd);

    /* unpacking on tmpfs when there is one: it runs for every archive */
    tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(fuzz_parent, sizeof(fuzz_parent), "%s/fuzz_archive.XXXXXX", tmp);

    if (mkdtemp(fuzz_parent) == NULL) {
        fprintf(stderr, "fuzz_archive: mkdtemp: %s\n", strerror(errno));
        abort();
    }

    atexit(fuzz_cleanup);

    return 0;
}


/* the one folder an unpack made is all there is in fuzz_parent */
static void
fuzz_check_unpacked(const char *dir)
{
    int             n;
    DIR            *d;
    struct dirent  *e;
    const char     *base;

    base = strrchr(dir, '/') + 1;

    d = opendir(fuzz_parent);
    FUZZ_CHECK(d != NULL, "%s: %s", fuzz_parent, strerror(errno));

    n = 0;

    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }

        FUZZ_CHECK(strcmp(e->d_name, base) == 0,
                   "unpacking wrote \"%s\" beside its folder", e->d_name);
        n++;
    }

    closedir(d);

    FUZZ_CHECK(n == 1, "%d folders after an unpack", n);
}


static void
fuzz_open(const ts_archive_limits_t *limits)
{
    char           err[1024], dir[512];
    ts_archive_t  *a;

    err[0] = '\0';
    a = ts_archive_open(fuzz_path, limits, err, sizeof(err));

    if (a == NULL) {
        FUZZ_CHECK(err[0] != '\0', "a refusal without a message");
        return;
    }

    fuzz_check_archive(a, limits);

    (void) ts_archive_check_torchscript(a, err, sizeof(err));

    if (limits->with_data) {
        if (ts_archive_unpack(a, fuzz_parent, "u", dir, sizeof(dir), err,
                              sizeof(err))
            == 0)
        {
            fuzz_check_unpacked(dir);
            ts_archive_remove_tree(dir);
        }
    }

    ts_archive_free(a);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ts_archive_limits_t  limits;

    fuzz_setup();

    if (ftruncate(fuzz_fd, 0) != 0
        || pwrite(fuzz_fd, data, size, 0) != (ssize_t) size)
    {
        fprintf(stderr, "fuzz_archive: memfd: %s\n", strerror(errno));
        abort();
    }

    limits = fuzz_limits;
    fuzz_open(&limits);

    limits.with_data = 0;
    fuzz_open(&limits);

    return 0;
}
