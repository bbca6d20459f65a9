/*
 * preprocess.c: times ts_image_transform on decoded pixels, for
 * bench/preprocess.py (which times Pillow + torchvision on the same).
 *
 *   preprocess PIXELS WIDTH HEIGHT CHANNELS RUNS [OUT]
 *
 * PIXELS: raw uint8 rows; TorchServe's image_classifier transform
 * (Resize(256), CenterCrop(224), ToTensor, Normalize(ImageNet)), one
 * thread; a warm-up call, then RUNS timed calls.  Prints
 *   preprocess runs=N median_us=M min_us=m
 * and writes the last tensor (float32) to OUT when given.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ts_image.h"


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


int
main(int argc, char **argv)
{
    int                   i, runs;
    char                  err[256];
    FILE                 *f;
    size_t                len, n;
    float                *out;
    double               *us, t0;
    uint32_t              ow, oh;
    ts_image_t            img;
    ts_image_transform_t  t;

    if (argc < 6) {
        fprintf(stderr, "usage: %s PIXELS WIDTH HEIGHT CHANNELS RUNS [OUT]\n",
                argv[0]);
        return 2;
    }

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

    ts_image_output_size(&t, img.width, img.height, &ow, &oh);
    n = (size_t) img.channels * ow * oh;

    out = malloc(n * sizeof(float));
    if (out == NULL) {
        return 1;
    }

    for (i = -1; i < runs; i++) {
        t0 = bench_now_us();

        if (ts_image_transform(&img, &t, out, err, sizeof(err))
            != TS_STATUS_OK)
        {
            fprintf(stderr, "ts_image_transform: %s\n", err);
            return 1;
        }

        if (i >= 0) {
            us[i] = bench_now_us() - t0;
        }
    }

    qsort(us, runs, sizeof(double), bench_cmp);
    printf("preprocess runs=%d median_us=%.1f min_us=%.1f\n", runs,
           us[runs / 2], us[0]);

    if (argc > 6) {
        f = fopen(argv[6], "wb");
        if (f == NULL || fwrite(out, sizeof(float), n, f) != n) {
            fprintf(stderr, "%s: cannot write\n", argv[6]);
            return 1;
        }

        fclose(f);
    }

    free(out);
    free(us);
    free(img.pixels);

    return 0;
}
