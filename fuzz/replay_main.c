/*
 * The replay driver: runs a libFuzzer target's LLVMFuzzerTestOneInput over
 * the files and folders named on its command line, without libFuzzer (gcc,
 * the sanitizers of the build). make test replays every corpus with it, so
 * that a finding fixed once stays fixed; a crash aborts with the sanitizer's
 * report and the file's name printed before it.
 */

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int replay_path(const char *path, unsigned *count);


static int
replay_file(const char *path, unsigned *count)
{
    FILE     *f;
    long      len;
    uint8_t  *buf;

    f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }

    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
    {
        fprintf(stderr, "replay: %s: cannot size it\n", path);
        fclose(f);
        return -1;
    }

    /* an exact-size heap copy: a read past the input is the sanitizer's */
    buf = malloc(len ? (size_t) len : 1);
    if (buf == NULL || fread(buf, 1, (size_t) len, f) != (size_t) len) {
        fprintf(stderr, "replay: %s: cannot read it\n", path);
        free(buf);
        fclose(f);
        return -1;
    }

    fclose(f);

    fprintf(stderr, "replay: %s\n", path);
    LLVMFuzzerTestOneInput(buf, (size_t) len);
    free(buf);
    (*count)++;

    return 0;
}


static int
replay_dir(const char *path, unsigned *count)
{
    int             rc = 0;
    char           *sub;
    size_t          n;
    DIR            *d;
    struct dirent  *e;

    d = opendir(path);
    if (d == NULL) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }

    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }

        n = strlen(path) + strlen(e->d_name) + 2;
        sub = malloc(n);
        if (sub == NULL) {
            rc = -1;
            break;
        }

        snprintf(sub, n, "%s/%s", path, e->d_name);
        if (replay_path(sub, count) != 0) {
            rc = -1;
        }

        free(sub);
    }

    closedir(d);
    return rc;
}


static int
replay_path(const char *path, unsigned *count)
{
    struct stat  st;

    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }

    return S_ISDIR(st.st_mode) ? replay_dir(path, count)
                               : replay_file(path, count);
}


int
main(int argc, char **argv)
{
    int       i, rc = 0;
    unsigned  count = 0;

    if (LLVMFuzzerInitialize != NULL) {
        LLVMFuzzerInitialize(&argc, &argv);
    }

    for (i = 1; i < argc; i++) {
        if (replay_path(argv[i], &count) != 0) {
            rc = 1;
        }
    }

    printf("replay: %s: %u inputs\n", argv[0], count);
    return rc;
}
