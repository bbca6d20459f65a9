/*
 * fuzz_archive_check.c: the checks of fuzz_archive_check.h.
 */

#include "fuzz_archive_check.h"
#include "fuzz_util.h"


static void
fuzz_check_name(const char *name)
{
    const char  *p, *c;
    size_t       n;

    FUZZ_CHECK(name[0] != '\0' && name[0] != '/', "name \"%s\"", name);

    for (p = name; ; p = c + 1) {
        c = strchr(p, '/');
        n = c ? (size_t) (c - p) : strlen(p);

        FUZZ_CHECK(n > 0 && !(n == 1 && p[0] == '.')
                   && !(n == 2 && p[0] == '.' && p[1] == '.'),
                   "name \"%s\" has an unsafe component", name);

        if (c == NULL) {
            break;
        }
    }
}


void
fuzz_check_archive(const ts_archive_t *a, const ts_archive_limits_t *limits)
{
    size_t  i, total;

    FUZZ_CHECK(a->manifest.model_name != NULL
               && a->manifest.model_name[0] != '\0', "no modelName");
    FUZZ_CHECK(a->nfiles <= limits->max_entries, "%zu files", a->nfiles);
    FUZZ_CHECK(ts_archive_find(a, "MAR-INF/MANIFEST.json") != NULL,
               "no manifest in the files");

    total = 0;

    for (i = 0; i < a->nfiles; i++) {
        fuzz_check_name(a->files[i].name);

        FUZZ_CHECK(i == 0 || strcmp(a->files[i - 1].name, a->files[i].name)
                             < 0, "files not sorted, or twice: \"%s\"",
                   a->files[i].name);

        FUZZ_CHECK(a->files[i].size <= limits->max_entry_size,
                   "\"%s\": %zu bytes", a->files[i].name, a->files[i].size);

        if (a->files[i].data != NULL) {
            FUZZ_CHECK(a->files[i].data[a->files[i].size] == '\0',
                       "\"%s\" is not NUL-terminated", a->files[i].name);
        }

        FUZZ_CHECK(!limits->with_data || a->files[i].data != NULL,
                   "\"%s\" has no data", a->files[i].name);

        FUZZ_CHECK(ts_archive_find(a, a->files[i].name) == &a->files[i],
                   "\"%s\" is not found", a->files[i].name);

        total += a->files[i].size;
    }

    FUZZ_CHECK(!limits->with_data || total <= limits->max_total_size,
               "%zu bytes in all", total);
}
