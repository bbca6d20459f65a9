/*
 * preprocess.c: times the image_classifier's preprocessing in C, for
 * bench/preprocess.py (which times Pillow + torchvision on the same) and
 * bench/run.sh (the vision floor's preprocessing part).
 *
 *   preprocess PIXELS WIDTH HEIGHT CHANNELS RUNS [OUT]
 *   preprocess --image FILE RUNS [OUT [PIXELS_OUT]]
 *   preprocess --image FILE --threads THREADS SECONDS
 *
 * The transform is TorchServe's image_classifier's (Resize(256),
 * CenterCrop(224), ToTensor, Normalize(ImageNet)).
 *
 * PIXELS: raw uint8 rows; ts_image_transform alone, one thread; a warm-up
 * call, then RUNS timed calls.  Prints
 *   preprocess runs=N median_us=M min_us=m
 * and writes the last tensor (float32) to OUT when given.
 *
 * --image FILE (a JPEG or PNG): by stage, one thread, a warm-up, then RUNS
 * timed calls of each: ts_image_decode (to RGB, Pillow's pixel limit; the
 * free not timed), ts_image_transform on those pixels, and the whole
 * (decode, transform, free).  Prints
 *   decode runs=N median_us=M min_us=m
 *   transform runs=N median_us=M min_us=m
 *   whole runs=N median_us=M min_us=m
 * and writes the whole's last tensor to OUT, the decoded pixels to
 * PIXELS_OUT.
 *
 * --threads: THREADS threads (one per core) each run the whole in a loop
 * for SECONDS after a warm-up, all started together, as bench/floor.cpp
 * runs forward(); prints, latencies per image:
 *   preprocess threads=T batch=1 calls=N seconds=S rps=R p50_ms=A p99_ms=B
 */

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ts_image.h"


typedef struct {
    const unsigned char        *data;
    size_t                      len;
    const ts_image_transform_t *t;
    size_t                      n;          /* floats of a tensor */
    double                      seconds;

    pthread_barrier_t          *start;
    double                     *ms;         /* a latency per image */
    size_t                      count;
    size_t                      cap;
    int                         failed;
} bench_thread_t;


static double
bench_now_us(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}


static int
bench_cmp(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return (x > y) - (x < y);
}


static void
bench_report(const char *name, double *us, int runs)
{
    qsort(us, runs, sizeof(double), bench_cmp);
    printf("%s runs=%d median_us=%.1f min_us=%.1f\n", name, runs,
           us[runs / 2], us[0]);
}


static unsigned char *
bench_read(const char *path, size_t *len)
{
    FILE           *f;
    long            size;
    unsigned char  *data;

    f = fopen(path, "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) <= 0
        || fseek(f, 0, SEEK_SET) != 0)
    {
        fprintf(stderr, "%s: cannot read\n", path);
        return NULL;
    }

    data = malloc(size);
    if (data == NULL || fread(data, 1, size, f) != (size_t) size) {
        fprintf(stderr, "%s: cannot read %ld bytes\n", path, size);
        return NULL;
    }

    fclose(f);
    *len = size;

    return data;
}


static int
bench_write(const char *path, const void *data, size_t len)
{
    FILE  *f;

    f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "%s: cannot write\n", path);
        return -1;
    }

    return 0;
}


/* decode, transform into out, free: what a request's preprocessing does */
static int
bench_whole(const unsigned char *data, size_t len,
    const ts_image_transform_t *t, float *out)
{
    char                       err[256];
    ts_image_t                 img;
    ts_image_decode_options_t  o;

    o.channels = 3;
    o.max_pixels = TS_IMAGE_MAX_PIXELS;

    if (ts_image_decode(data, len, &o, &img, err, sizeof(err))
        != TS_STATUS_OK)
    {
        fprintf(stderr, "ts_image_decode: %s\n", err);
        return -1;
    }

    if (ts_image_transform(&img, t, out, err, sizeof(err)) != TS_STATUS_OK) {
        fprintf(stderr, "ts_image_transform: %s\n", err);
        ts_image_free(&img);
        return -1;
    }

    ts_image_free(&img);

    return 0;
}


static int
bench_pixels(char **argv, int argc, const ts_image_transform_t *t)
{
    int          i, runs;
    char         err[256];
    FILE        *f;
    size_t       len, n;
    float       *out;
    double      *us, t0;
    uint32_t     ow, oh;
    ts_image_t   img;

    img.width = (uint32_t) strtoul(argv[2], NULL, 10);
    img.height = (uint32_t) strtoul(argv[3], NULL, 10);
    img.channels = atoi(argv[4]);
    runs = atoi(argv[5]);

    len = (size_t) img.width * img.height * img.channels;
    img.pixels = malloc(len);
    us = malloc(sizeof(double) * (runs > 0 ? runs : 1));

    f = fopen(argv[1], "rb");
    if (f == NULL || img.pixels == NULL || us == NULL || runs < 1
        || fread(img.pixels, 1, len, f) != len)
    {
        fprintf(stderr, "%s: cannot read %zu bytes\n", argv[1], len);
        return 1;
    }

    fclose(f);

    ts_image_output_size(t, img.width, img.height, &ow, &oh);
    n = (size_t) img.channels * ow * oh;

    out = malloc(n * sizeof(float));
    if (out == NULL) {
        return 1;
    }

    for (i = -1; i < runs; i++) {
        t0 = bench_now_us();

        if (ts_image_transform(&img, t, out, err, sizeof(err))
            != TS_STATUS_OK)
        {
            fprintf(stderr, "ts_image_transform: %s\n", err);
            return 1;
        }

        if (i >= 0) {
            us[i] = bench_now_us() - t0;
        }
    }

    bench_report("preprocess", us, runs);

    if (argc > 6 && bench_write(argv[6], out, n * sizeof(float)) != 0) {
        return 1;
    }

    free(out);
    free(us);
    free(img.pixels);

    return 0;
}


static int
bench_stages(const unsigned char *data, size_t len, int runs,
    const char *out_path, const char *pixels_path,
    const ts_image_transform_t *t)
{
    int                        i;
    char                       err[256];
    float                     *out;
    double                    *dec, *tr, *whole, t0;
    size_t                     n;
    uint32_t                   ow, oh;
    ts_image_t                 img;
    ts_image_decode_options_t  o;

    o.channels = 3;
    o.max_pixels = TS_IMAGE_MAX_PIXELS;

    dec = malloc(sizeof(double) * runs);
    tr = malloc(sizeof(double) * runs);
    whole = malloc(sizeof(double) * runs);
    if (dec == NULL || tr == NULL || whole == NULL) {
        return 1;
    }

    if (ts_image_decode(data, len, &o, &img, err, sizeof(err))
        != TS_STATUS_OK)
    {
        fprintf(stderr, "ts_image_decode: %s\n", err);
        return 1;
    }

    ts_image_output_size(t, img.width, img.height, &ow, &oh);
    n = (size_t) img.channels * ow * oh;
    ts_image_free(&img);

    out = malloc(n * sizeof(float));
    if (out == NULL) {
        return 1;
    }

    /* decoding alone; the pixels of the last call are kept */
    for (i = -1; i < runs; i++) {
        t0 = bench_now_us();

        if (ts_image_decode(data, len, &o, &img, err, sizeof(err))
            != TS_STATUS_OK)
        {
            fprintf(stderr, "ts_image_decode: %s\n", err);
            return 1;
        }

        if (i >= 0) {
            dec[i] = bench_now_us() - t0;
        }

        if (i < runs - 1) {
            ts_image_free(&img);
        }
    }

    /* the stages after decoding, on those pixels */
    for (i = -1; i < runs; i++) {
        t0 = bench_now_us();

        if (ts_image_transform(&img, t, out, err, sizeof(err))
            != TS_STATUS_OK)
        {
            fprintf(stderr, "ts_image_transform: %s\n", err);
            return 1;
        }

        if (i >= 0) {
            tr[i] = bench_now_us() - t0;
        }
    }

    if (pixels_path != NULL
        && bench_write(pixels_path, img.pixels,
                       (size_t) img.width * img.height * img.channels) != 0)
    {
        return 1;
    }

    ts_image_free(&img);

    for (i = -1; i < runs; i++) {
        t0 = bench_now_us();

        if (bench_whole(data, len, t, out) != 0) {
            return 1;
        }

        if (i >= 0) {
            whole[i] = bench_now_us() - t0;
        }
    }

    bench_report("decode", dec, runs);
    bench_report("transform", tr, runs);
    bench_report("whole", whole, runs);

    if (out_path != NULL
        && bench_write(out_path, out, n * sizeof(float)) != 0)
    {
        return 1;
    }

    free(out);
    free(dec);
    free(tr);
    free(whole);

    return 0;
}


static void *
bench_thread(void *arg)
{
    bench_thread_t  *bt = arg;
    int              i;
    float           *out;
    double           t0, t1, end, *ms;

    out = malloc(bt->n * sizeof(float));
    if (out == NULL) {
        bt->failed = 1;
        pthread_barrier_wait(bt->start);
        return NULL;
    }

    for (i = 0; i < 20; i++) {
        if (bench_whole(bt->data, bt->len, bt->t, out) != 0) {
            bt->failed = 1;
            break;
        }
    }

    pthread_barrier_wait(bt->start);

    end = bench_now_us() + bt->seconds * 1e6;

    for (t0 = bench_now_us(); !bt->failed && t0 < end; t0 = t1) {
        if (bench_whole(bt->data, bt->len, bt->t, out) != 0) {
            bt->failed = 1;
            break;
        }

        t1 = bench_now_us();

        if (bt->count == bt->cap) {
            bt->cap = bt->cap ? 2 * bt->cap : 4096;
            ms = realloc(bt->ms, bt->cap * sizeof(double));
            if (ms == NULL) {
                bt->failed = 1;
                break;
            }

            bt->ms = ms;
        }

        bt->ms[bt->count++] = (t1 - t0) / 1e3;
    }

    free(out);

    return NULL;
}


static int
bench_threads(const unsigned char *data, size_t len, int nthreads,
    double seconds, const ts_image_transform_t *t)
{
    int                 i, rc;
    char                err[256];
    double             *all, t0, elapsed;
    size_t              total, k;
    uint32_t            ow, oh;
    pthread_t          *tid;
    ts_image_t          img;
    bench_thread_t     *bt;
    pthread_barrier_t   start;

    ts_image_decode_options_t  o;

    o.channels = 3;
    o.max_pixels = TS_IMAGE_MAX_PIXELS;

    if (ts_image_decode(data, len, &o, &img, err, sizeof(err))
        != TS_STATUS_OK)
    {
        fprintf(stderr, "ts_image_decode: %s\n", err);
        return 1;
    }

    ts_image_output_size(t, img.width, img.height, &ow, &oh);

    bt = calloc(nthreads, sizeof(bench_thread_t));
    tid = calloc(nthreads, sizeof(pthread_t));
    if (bt == NULL || tid == NULL
        || pthread_barrier_init(&start, NULL, nthreads + 1) != 0)
    {
        return 1;
    }

    for (i = 0; i < nthreads; i++) {
        bt[i].data = data;
        bt[i].len = len;
        bt[i].t = t;
        bt[i].n = (size_t) img.channels * ow * oh;
        bt[i].seconds = seconds;
        bt[i].start = &start;

        if (pthread_create(&tid[i], NULL, bench_thread, &bt[i]) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            return 1;
        }
    }

    ts_image_free(&img);

    pthread_barrier_wait(&start);
    t0 = bench_now_us();

    rc = 0;
    total = 0;

    for (i = 0; i < nthreads; i++) {
        pthread_join(tid[i], NULL);
        rc |= bt[i].failed;
        total += bt[i].count;
    }

    elapsed = (bench_now_us() - t0) / 1e6;

    if (rc != 0 || total == 0) {
        return 1;
    }

    all = malloc(total * sizeof(double));
    if (all == NULL) {
        return 1;
    }

    for (i = 0, k = 0; i < nthreads; i++) {
        memcpy(all + k, bt[i].ms, bt[i].count * sizeof(double));
        k += bt[i].count;
        free(bt[i].ms);
    }

    qsort(all, total, sizeof(double), bench_cmp);

    /* the nearest rank, as floor.cpp takes it */
    printf("preprocess threads=%d batch=1 calls=%zu seconds=%.3f rps=%.1f "
           "p50_ms=%.3f p99_ms=%.3f\n", nthreads, total, elapsed,
           total / elapsed, all[(size_t) (0.50 * (total - 1) + 0.5)],
           all[(size_t) (0.99 * (total - 1) + 0.5)]);

    pthread_barrier_destroy(&start);
    free(all);
    free(bt);
    free(tid);

    return 0;
}


int
main(int argc, char **argv)
{
    int                   rc;
    size_t                len;
    unsigned char        *data;
    ts_image_transform_t  t;

    memset(&t, 0, sizeof(t));
    t.resize_short = 256;
    t.crop_w = 224;
    t.crop_h = 224;
    t.normalize = 1;
    /* as torch has them: the Python floats rounded to float32 */
    t.mean[0] = (float) 0.485;
    t.mean[1] = (float) 0.456;
    t.mean[2] = (float) 0.406;
    t.std[0] = (float) 0.229;
    t.std[1] = (float) 0.224;
    t.std[2] = (float) 0.225;

    if (argc >= 4 && strcmp(argv[1], "--image") == 0) {
        data = bench_read(argv[2], &len);
        if (data == NULL) {
            return 1;
        }

        if (strcmp(argv[3], "--threads") == 0 && argc == 6
            && atoi(argv[4]) > 0 && atof(argv[5]) > 0)
        {
            rc = bench_threads(data, len, atoi(argv[4]), atof(argv[5]), &t);

        } else if (argc <= 6 && atoi(argv[3]) > 0) {
            rc = bench_stages(data, len, atoi(argv[3]),
                              argc > 4 ? argv[4] : NULL,
                              argc > 5 ? argv[5] : NULL, &t);

        } else {
            goto usage;
        }

        free(data);

        return rc;
    }

    if (argc < 6 || argv[1][0] == '-') {
        goto usage;
    }

    return bench_pixels(argv, argc, &t);

usage:

    fprintf(stderr, "usage: %s PIXELS WIDTH HEIGHT CHANNELS RUNS [OUT]\n"
            "       %s --image FILE RUNS [OUT [PIXELS_OUT]]\n"
            "       %s --image FILE --threads THREADS SECONDS\n",
            argv[0], argv[0], argv[0]);
    return 2;
}
