/*
 * test_image_transform.c: ts_image_transform against torchvision (cmocka).
 *
 * transform_reference.py (Debian's python3, PIL and torchvision 0.14)
 * writes each case's pixels and the tensor torchvision makes of them into
 * $TS_TEST_TMP/transform_reference; every case must come out bit for bit
 * the same, from this thread and from threads of their own (whose scratch
 * the key's destructor frees: run under valgrind --leak-check=full), with
 * the vector code the processor allows and with the portable C.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "ts_image.h"
#include "ts_image_int.h"


#define TEST_PYTHON     "/usr/bin/python3"
#define TEST_SCRIPT     "runtime/tests/transform_reference.py"
#define TEST_MAX_CASES  256
#define TEST_THREADS    2
#define TEST_RANDOM_CASES  400


typedef struct {
    char                  name[96];
    ts_image_t            img;
    ts_image_transform_t  t;
    uint32_t              out_w;
    uint32_t              out_h;
    float                *expected;
    size_t                n;           /* floats in expected */
} test_case_t;


typedef struct {
    test_case_t  cases[TEST_MAX_CASES];
    int          ncases;
    char         dir[512];
} test_ref_t;


typedef struct {
    test_ref_t  *ref;
    int          start;
    int          failed;
} test_thread_t;


static void *
test_read_file(const char *path, size_t *len)
{
    FILE   *f;
    long    size;
    void   *data;

    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }

    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
    {
        fclose(f);
        return NULL;
    }

    data = malloc(size ? (size_t) size : 1);
    if (data == NULL || fread(data, 1, size, f) != (size_t) size) {
        free(data);
        fclose(f);
        return NULL;
    }

    fclose(f);
    *len = size;

    return data;
}


static float
test_f32(unsigned bits)
{
    float     f;
    uint32_t  u = bits;

    memcpy(&f, &u, sizeof(float));

    return f;
}


static int
test_load_case(test_ref_t *ref, test_case_t *tc, const char *line)
{
    int       n, c, norm;
    char      path[1024];
    size_t    len;
    unsigned  w, h, rs, rw, rh, cw, ch, ow, oh, m[3], s[3];

    n = sscanf(line, "%95s %d %u %u %u %u %u %u %u %d %x %x %x %x %x %x %u %u",
               tc->name, &c, &w, &h, &rs, &rw, &rh, &cw, &ch, &norm,
               &m[0], &m[1], &m[2], &s[0], &s[1], &s[2], &ow, &oh);
    if (n != 18) {
        print_error("cases.txt: a bad line: %s\n", line);
        return -1;
    }

    tc->img.width = w;
    tc->img.height = h;
    tc->img.channels = c;
    tc->t.resize_short = rs;
    tc->t.resize_w = rw;
    tc->t.resize_h = rh;
    tc->t.crop_w = cw;
    tc->t.crop_h = ch;
    tc->t.normalize = norm;

    for (n = 0; n < 3; n++) {
        tc->t.mean[n] = test_f32(m[n]);
        tc->t.std[n] = test_f32(s[n]);
    }

    tc->out_w = ow;
    tc->out_h = oh;

    snprintf(path, sizeof(path), "%s/%s.in", ref->dir, tc->name);
    tc->img.pixels = test_read_file(path, &len);
    if (tc->img.pixels == NULL || len != (size_t) w * h * c) {
        print_error("%s: unreadable or of the wrong size\n", path);
        return -1;
    }

    snprintf(path, sizeof(path), "%s/%s.out", ref->dir, tc->name);
    tc->expected = test_read_file(path, &len);
    tc->n = (size_t) c * ow * oh;
    if (tc->expected == NULL || len != tc->n * sizeof(float)) {
        print_error("%s: unreadable or of the wrong size\n", path);
        return -1;
    }

    return 0;
}


static int
test_setup(void **state)
{
    char         cmd[1200], line[512], path[600];
    FILE        *f;
    const char  *base;
    test_ref_t  *ref;

    ref = calloc(1, sizeof(test_ref_t));
    if (ref == NULL) {
        return -1;
    }

    *state = ref;

    base = getenv("TS_TEST_TMP");
    if (base == NULL || base[0] == '\0') {
        base = "/tmp";
    }

    if (mkdir(base, 0755) == -1 && errno != EEXIST) {
        return -1;
    }

    snprintf(ref->dir, sizeof(ref->dir), "%s/transform_reference", base);
    snprintf(cmd, sizeof(cmd), TEST_PYTHON " " TEST_SCRIPT " '%s'", ref->dir);

    if (system(cmd) != 0) {
        print_error("%s failed\n", cmd);
        return -1;
    }

    snprintf(path, sizeof(path), "%s/cases.txt", ref->dir);

    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }

    while (fgets(line, sizeof(line), f) != NULL) {
        if (ref->ncases == TEST_MAX_CASES
            || test_load_case(ref, &ref->cases[ref->ncases], line) != 0)
        {
            fclose(f);
            return -1;
        }

        ref->ncases++;
    }

    fclose(f);

    return ref->ncases > 0 ? 0 : -1;
}


static int
test_teardown(void **state)
{
    int          i;
    test_ref_t  *ref = *state;

    if (ref == NULL) {
        return 0;
    }

    for (i = 0; i < ref->ncases; i++) {
        free(ref->cases[i].img.pixels);
        free(ref->cases[i].expected);
    }

    free(ref);

    return 0;
}


/* 0 when the case comes out bit for bit as torchvision's; prints why not */
static int
test_run_case(const test_case_t *tc)
{
    char         err[256];
    float       *out;
    size_t       i, plane;
    uint32_t     ow, oh;
    ts_status_e  rc;

    ts_image_output_size(&tc->t, tc->img.width, tc->img.height, &ow, &oh);

    if (ow != tc->out_w || oh != tc->out_h) {
        print_error("%s: output size %ux%u, torchvision's %ux%u\n", tc->name,
                    ow, oh, tc->out_w, tc->out_h);
        return -1;
    }

    /* one float past the end, which must stay untouched */
    out = malloc((tc->n + 1) * sizeof(float));
    if (out == NULL) {
        return -1;
    }

    memset(out, 0xa5, (tc->n + 1) * sizeof(float));
    err[0] = '\0';

    rc = ts_image_transform(&tc->img, &tc->t, out, err, sizeof(err));
    if (rc != TS_STATUS_OK) {
        print_error("%s: status %d: %s\n", tc->name, rc, err);
        free(out);
        return -1;
    }

    if (memcmp(out, tc->expected, tc->n * sizeof(float)) != 0) {
        plane = (size_t) ow * oh;

        for (i = 0; i < tc->n; i++) {
            if (memcmp(&out[i], &tc->expected[i], sizeof(float)) != 0) {
                break;
            }
        }

        print_error("%s: first difference at %zu (c %zu, y %zu, x %zu): "
                    "%.9g, torchvision's %.9g\n", tc->name, i, i / plane,
                    i % plane / ow, i % ow, out[i], tc->expected[i]);
        free(out);
        return -1;
    }

    for (i = 0; i < sizeof(float); i++) {
        if (((unsigned char *) &out[tc->n])[i] != 0xa5) {
            print_error("%s: written past the tensor\n", tc->name);
            free(out);
            return -1;
        }
    }

    free(out);

    return 0;
}


static void
test_reference(void **state)
{
    int          i, failed;
    test_ref_t  *ref = *state;

    failed = 0;

    for (i = 0; i < ref->ncases; i++) {
        if (test_run_case(&ref->cases[i]) != 0) {
            failed++;
        }
    }

    print_message("%d cases, %d bit-identical to torchvision\n", ref->ncases,
                  ref->ncases - failed);
    assert_int_equal(failed, 0);
}


/* the same with the portable C, whatever the processor has */
static void
test_reference_portable(void **state)
{
    int          i, failed, level;
    test_ref_t  *ref = *state;

    level = ts_image_simd(TS_IMAGE_SIMD_NONE);
    assert_int_equal(ts_image_simd(-1), TS_IMAGE_SIMD_NONE);

    failed = 0;

    for (i = 0; i < ref->ncases; i++) {
        if (test_run_case(&ref->cases[i]) != 0) {
            failed++;
        }
    }

    ts_image_simd(level);

    print_message("%d cases, %d bit-identical to torchvision (portable C; "
                  "vector code: %d)\n", ref->ncases, ref->ncases - failed,
                  level);
    assert_int_equal(failed, 0);
}


static uint32_t
test_rand(uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;

    return (uint32_t) (*state >> 33);
}


/*
 * The vector code against the portable C (which the reference holds to
 * torchvision) on random sizes, resizes, crops and pixels: every width
 * modulo the vectors, tiny images, 1 to hundreds of taps, both channels.
 */
static void
test_simd_random(void **state)
{
    int                   i, level, c;
    char                  err[256];
    float                *a, *b;
    size_t                n, len, j;
    uint64_t              rng;
    uint32_t              w, h, ow, oh;
    ts_image_t            img;
    ts_image_transform_t  t;

    (void) state;

    level = ts_image_simd(-1);
    if (level == TS_IMAGE_SIMD_NONE) {
        print_message("no vector code on this processor\n");
        return;
    }

    rng = 12;

    for (i = 0; i < TEST_RANDOM_CASES; i++) {
        c = test_rand(&rng) % 2 ? 3 : 1;
        w = 1 + test_rand(&rng) % (i % 4 == 0 ? 12 : 400);
        h = 1 + test_rand(&rng) % (i % 4 == 1 ? 12 : 400);

        memset(&t, 0, sizeof(t));

        switch (test_rand(&rng) % 3) {
        case 0:
            t.resize_short = 1 + test_rand(&rng) % 300;
            break;
        case 1:
            t.resize_w = 1 + test_rand(&rng) % 500;
            t.resize_h = 1 + test_rand(&rng) % 500;
            break;
        default:
            /* down to a few rows or columns: long windows */
            t.resize_w = 1 + test_rand(&rng) % (test_rand(&rng) % 2 ? 4 : 400);
            t.resize_h = 1 + test_rand(&rng) % (test_rand(&rng) % 2 ? 4 : 400);
        }

        if (test_rand(&rng) % 2) {
            t.crop_w = 1 + test_rand(&rng) % 300;
            t.crop_h = 1 + test_rand(&rng) % 300;
        }

        t.normalize = test_rand(&rng) % 2;
        t.mean[0] = 0.485f;
        t.mean[1] = 0.456f;
        t.mean[2] = 0.406f;
        t.std[0] = 0.229f;
        t.std[1] = 0.224f;
        t.std[2] = 0.225f;

        ts_image_output_size(&t, w, h, &ow, &oh);
        assert_true(ow > 0 && oh > 0);

        len = (size_t) w * h * c;
        n = (size_t) c * ow * oh;

        img.width = w;
        img.height = h;
        img.channels = c;
        img.pixels = malloc(len);
        a = malloc(n * sizeof(float));
        b = malloc(n * sizeof(float));
        assert_non_null(img.pixels);
        assert_non_null(a);
        assert_non_null(b);

        /* noise, or runs of 0 and 255 (the clipping) */
        for (j = 0; j < len; j++) {
            img.pixels[j] = (i % 3 == 0) ? ((j / 7) % 2 ? 255 : 0)
                                         : (uint8_t) test_rand(&rng);
        }

        ts_image_simd(TS_IMAGE_SIMD_NONE);
        assert_int_equal(ts_image_transform(&img, &t, a, err, sizeof(err)),
                         TS_STATUS_OK);

        ts_image_simd(level);
        assert_int_equal(ts_image_transform(&img, &t, b, err, sizeof(err)),
                         TS_STATUS_OK);

        if (memcmp(a, b, n * sizeof(float)) != 0) {
            print_error("%ux%ux%d short %u size %ux%u crop %ux%u: the vector "
                        "code differs\n", w, h, c, t.resize_short, t.resize_w,
                        t.resize_h, t.crop_w, t.crop_h);
            fail();
        }

        free(img.pixels);
        free(a);
        free(b);
    }

    print_message("%d random cases, vector code = portable C\n",
                  TEST_RANDOM_CASES);
}


/* the warm scratch of a thread serves cases in any order, small after large */
static void
test_reuse(void **state)
{
    int          i;
    test_ref_t  *ref = *state;

    for (i = ref->ncases - 1; i >= 0; i--) {
        assert_int_equal(test_run_case(&ref->cases[i]), 0);
    }

    for (i = 0; i < ref->ncases; i += 7) {
        assert_int_equal(test_run_case(&ref->cases[i]), 0);
    }
}


static void *
test_thread_main(void *arg)
{
    int             i, n;
    test_thread_t  *th = arg;

    n = th->ref->ncases;

    for (i = 0; i < n; i++) {
        if (test_run_case(&th->ref->cases[(th->start + i) % n]) != 0) {
            th->failed++;
        }
    }

    return NULL;
}


static void
test_threads(void **state)
{
    int            i;
    pthread_t      tid[TEST_THREADS];
    test_thread_t  th[TEST_THREADS];
    test_ref_t    *ref = *state;

    for (i = 0; i < TEST_THREADS; i++) {
        th[i].ref = ref;
        th[i].start = i * ref->ncases / TEST_THREADS;
        th[i].failed = 0;
        assert_int_equal(pthread_create(&tid[i], NULL, test_thread_main,
                                        &th[i]), 0);
    }

    for (i = 0; i < TEST_THREADS; i++) {
        assert_int_equal(pthread_join(tid[i], NULL), 0);
        assert_int_equal(th[i].failed, 0);
    }
}


static ts_status_e
test_transform_status(uint32_t w, uint32_t h, int channels,
    const ts_image_transform_t *t, uint32_t *ow, uint32_t *oh)
{
    char         err[256];
    float       *out;
    uint8_t     *px;
    ts_image_t   img;
    ts_status_e  rc;

    px = calloc((size_t) w * h * (channels > 0 ? channels : 1) + 1, 1);
    assert_non_null(px);

    img.width = w;
    img.height = h;
    img.channels = channels;
    img.pixels = px;

    ts_image_output_size(t, w, h, ow, oh);

    out = malloc(((size_t) *ow * *oh * 3 + 1) * sizeof(float));
    assert_non_null(out);

    err[0] = '\0';
    rc = ts_image_transform(&img, t, out, err, sizeof(err));

    if (rc != TS_STATUS_OK) {
        /* a message that says something */
        assert_true(strlen(err) > 10);
    }

    free(out);
    free(px);

    return rc;
}


static void
test_sizes_and_refusals(void **state)
{
    uint32_t              ow, oh;
    ts_image_transform_t  t;

    (void) state;

    memset(&t, 0, sizeof(t));

    /* a long image: only the crop of the 102400x256 image is computed */
    t.resize_short = 256;
    t.crop_w = 224;
    t.crop_h = 224;
    assert_int_equal(test_transform_status(4000, 10, 3, &t, &ow, &oh),
                     TS_STATUS_OK);
    assert_int_equal(ow, 224);
    assert_int_equal(oh, 224);

    t.crop_w = 0;
    t.crop_h = 0;
    ts_image_output_size(&t, 4000, 10, &ow, &oh);
    assert_int_equal(ow, 102400);
    assert_int_equal(oh, 256);

    /* int(256 * 333 / 250) = 340 */
    ts_image_output_size(&t, 333, 250, &ow, &oh);
    assert_int_equal(ow, 340);
    assert_int_equal(oh, 256);

    /* nothing: ToTensor only */
    memset(&t, 0, sizeof(t));
    ts_image_output_size(&t, 17, 5, &ow, &oh);
    assert_int_equal(ow, 17);
    assert_int_equal(oh, 5);

    /* 2 channels */
    assert_int_equal(test_transform_status(8, 8, 2, &t, &ow, &oh),
                     TS_STATUS_BAD_INPUT);

    /* an image of no pixels */
    assert_int_equal(test_transform_status(0, 8, 3, &t, &ow, &oh),
                     TS_STATUS_BAD_INPUT);
    assert_int_equal(ow, 0);
    assert_int_equal(oh, 0);

    /* a crop of 0 rows */
    t.crop_w = 10;
    assert_int_equal(test_transform_status(8, 8, 3, &t, &ow, &oh),
                     TS_STATUS_BAD_INPUT);
    assert_int_equal(ow, 0);

    /* Resize to a width of 0 */
    memset(&t, 0, sizeof(t));
    t.resize_h = 10;
    assert_int_equal(test_transform_status(8, 8, 1, &t, &ow, &oh),
                     TS_STATUS_BAD_INPUT);

    /* Pillow's coefficients must fit an int (INT_MAX / 24 upscaling) */
    memset(&t, 0, sizeof(t));
    t.resize_short = 89478486;
    t.crop_w = 1;
    t.crop_h = 1;
    assert_int_equal(test_transform_status(1, 1, 3, &t, &ow, &oh),
                     TS_STATUS_BAD_INPUT);

    t.resize_short = 89478485;
    assert_int_equal(test_transform_status(1, 1, 3, &t, &ow, &oh),
                     TS_STATUS_OK);

    /* beyond Pillow's C ints */
    t.resize_short = 1u << 31;
    assert_int_equal(test_transform_status(1, 1, 3, &t, &ow, &oh),
                     TS_STATUS_BAD_INPUT);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_reference),
        cmocka_unit_test(test_reference_portable),
        cmocka_unit_test(test_simd_random),
        cmocka_unit_test(test_reuse),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_sizes_and_refusals),
    };

    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
