/*
 * fx_tmpdir.h: a fresh temporary directory per cmocka test, the current
 * directory while the test runs (under $TS_TEST_TMP, else /tmp), removed
 * with everything in it afterwards.  Shared by the archive tests.
 */

#ifndef FX_TMPDIR_H
#define FX_TMPDIR_H

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


typedef struct {
    char  dir[512];
    char  cwd[PATH_MAX];
} fx_state_t;


static char *
fx_path(void **state, const char *name)
{
    static char  path[PATH_MAX];
    fx_state_t  *fx = *state;

    assert_true(snprintf(path, sizeof(path), "%s/%s", fx->dir, name)
                < (int) sizeof(path));

    return path;
}


static int
fx_tmpdir_setup(void **state, const char *prefix)
{
    const char  *base;
    fx_state_t  *fx;

    fx = calloc(1, sizeof(fx_state_t));
    if (fx == NULL) {
        return -1;
    }

    base = getenv("TS_TEST_TMP");
    if (base == NULL || base[0] == '\0') {
        base = "/tmp";

    } else if (mkdir(base, 0755) == -1 && errno != EEXIST) {
        free(fx);
        return -1;
    }

    snprintf(fx->dir, sizeof(fx->dir), "%s/%s.XXXXXX", base, prefix);

    if (mkdtemp(fx->dir) == NULL || getcwd(fx->cwd, sizeof(fx->cwd)) == NULL)
    {
        free(fx);
        return -1;
    }

    /* a reader that wrote relative names would write in here */
    if (chdir(fx->dir) == -1) {
        free(fx);
        return -1;
    }

    *state = fx;

    return 0;
}


static void
fx_remove(const char *path)
{
    DIR            *dir;
    char            sub[PATH_MAX];
    struct stat     st;
    struct dirent  *de;

    if (lstat(path, &st) == -1) {
        return;
    }

    if (S_ISDIR(st.st_mode)) {
        dir = opendir(path);

        if (dir != NULL) {
            while ((de = readdir(dir)) != NULL) {
                if (strcmp(de->d_name, ".") == 0
                    || strcmp(de->d_name, "..") == 0)
                {
                    continue;
                }

                snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
                fx_remove(sub);
            }

            closedir(dir);
        }

        rmdir(path);
        return;
    }

    unlink(path);
}


static int
fx_teardown(void **state)
{
    fx_state_t  *fx = *state;

    if (chdir(fx->cwd) == -1) {
        return -1;
    }

    fx_remove(fx->dir);
    free(fx);

    return 0;
}


#endif /* FX_TMPDIR_H */
