/*
 * fuzz_util.h: what the runtime's libFuzzer targets share (fuzz/targets/
 * fuzz_*.c): a failed invariant, and an input cut into its first line
 * (a content type, a protocol) and the rest (the body).
 *
 * A failed invariant aborts, as a sanitizer's report does, so that
 * libFuzzer keeps the input and the replay driver fails the build.
 */

#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


#define FUZZ_CHECK(cond, ...)                                               \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "fuzz: %s:%d: %s: ", __FILE__, __LINE__, #cond);\
            fprintf(stderr, __VA_ARGS__);                                   \
            fprintf(stderr, "\n");                                          \
            abort();                                                        \
        }                                                                   \
    } while (0)


/*
 * data[0..size) cut at its first '\n': *line a malloc'd C string of what
 * precedes it (NULL when there is no '\n': the whole input is the rest),
 * and the rest after it.  NULL *line and 0 return when out of memory too:
 * the caller skips the input.
 */
static inline int
fuzz_first_line(const uint8_t *data, size_t size, char **line,
    const uint8_t **rest, size_t *rest_len)
{
    const uint8_t  *nl;
    size_t          n;

    *line = NULL;
    *rest = data;
    *rest_len = size;

    nl = size ? memchr(data, '\n', size) : NULL;
    if (nl == NULL) {
        return 1;
    }

    n = (size_t) (nl - data);

    *line = malloc(n + 1);
    if (*line == NULL) {
        return 0;
    }

    memcpy(*line, data, n);
    (*line)[n] = '\0';

    *rest = nl + 1;
    *rest_len = size - n - 1;

    return 1;
}


/* an exact-size heap copy, so that a read past the end is ASan's */
static inline uint8_t *
fuzz_copy(const uint8_t *data, size_t size)
{
    uint8_t  *p;

    p = malloc(size ? size : 1);
    if (p != NULL && size) {
        memcpy(p, data, size);
    }

    return p;
}

#endif /* FUZZ_UTIL_H */
