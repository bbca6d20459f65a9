/*
 * fuzz_archive_check.h: what an opened archive must look like, whatever
 * it was read from (fuzz_archive.c: zip and tar; fuzz_archive_dir.c: a
 * folder): ts_archive.h's promises, checked after ts_archive_open.
 */

#ifndef FUZZ_ARCHIVE_CHECK_H
#define FUZZ_ARCHIVE_CHECK_H

#include "ts_archive.h"

/*
 * Aborts unless the files are sorted and unique, with safe names
 * (relative, no empty, "." or ".." component), loaded data is
 * NUL-terminated, sizes respect limits, and the manifest names a model.
 */
void fuzz_check_archive(const ts_archive_t *a,
    const ts_archive_limits_t *limits);

#endif /* FUZZ_ARCHIVE_CHECK_H */
