/*
 * ts_image_transform_scratch.c: the transform's coefficients (Pillow's,
 * and their pmaddwd pairs) and the per-thread scratch that holds them,
 * grown as needed and freed when the thread exits.
 */

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ts_image_int.h"
#include "ts_image_transform_int.h"


static void ts_coeffs(const ts_axis_t *ax, double *kd, int32_t *k,
    int32_t *bounds);
static void ts_coeff_pairs(const int32_t *k, const int32_t *bounds,
    int ksize, uint32_t n, uint32_t *pairs);
static int ts_coeff_pairs_even(const int32_t *k, const int32_t *bounds,
    int ksize, uint32_t n, uint32_t in, uint32_t *pairs, int32_t *starts);
static int ts_scratch_grow(void **buf, size_t *size, size_t need);
static void ts_scratch_key_init(void);
static void ts_scratch_free(void *data);


static pthread_once_t  ts_scratch_once = PTHREAD_ONCE_INIT;
static pthread_key_t   ts_scratch_key;
static int             ts_scratch_key_ok;


/*
 * The buffers this plan needs, grown in place, and the coefficients.  The
 * ring holds the longest window and one more row (rows are made in
 * pairs), or two rows for running sums; nacc: the most output rows whose
 * windows are open at once, at the source row where the window of row j
 * begins: j + 1 minus the rows whose windows ended before it.
 */
int
ts_scratch_prepare(ts_scratch_t *s, const ts_plan_t *p, const ts_image_t *img,
    int simd)
{
    int       c, np;
    size_t    nx, ny, kmax, line, stride;
    uint32_t  j, f, ns, maxlen;

    c = img->channels;
    nx = p->x.o1 - p->x.o0;
    ny = p->y.o1 - p->y.o0;
    kmax = p->x.ksize > p->y.ksize ? p->x.ksize : p->y.ksize;
    line = nx * c;
    stride = (size_t) img->width * c;

    s->simd_h = (simd >= TS_IMAGE_SIMD_AVX2 && c == 3);
    s->simd_v = (simd >= TS_IMAGE_SIMD_AVX2);
    s->pitch = line + TS_OVERWRITE;
    s->nslots = 2;
    s->nacc = 0;

    if (p->x.resample || p->y.resample) {
        if (ts_scratch_grow((void **) &s->kd, &s->kd_size,
                            kmax * sizeof(double)) != 0)
        {
            return -1;
        }
    }

    if (p->x.resample) {
        if (ts_scratch_grow((void **) &s->kx, &s->kx_size,
                            nx * p->x.ksize * sizeof(int32_t)) != 0
            || ts_scratch_grow((void **) &s->bx, &s->bx_size,
                               nx * 2 * sizeof(int32_t)) != 0)
        {
            return -1;
        }

        ts_coeffs(&p->x, s->kd, s->kx, s->bx);

        if (s->simd_h) {
            np = (p->x.ksize + 1) / 2;

            if (ts_scratch_grow((void **) &s->kxp, &s->kxp_size,
                                nx * 2 * np * sizeof(uint32_t)) != 0
                || ts_scratch_grow((void **) &s->bxp, &s->bxp_size,
                                   nx * sizeof(int32_t)) != 0
                || ts_scratch_grow((void **) &s->edge, &s->edge_size,
                                   2 * (stride + TS_OVERREAD)) != 0)
            {
                return -1;
            }

            s->mx = ts_coeff_pairs_even(s->kx, s->bx, p->x.ksize, nx,
                                        p->x.in, s->kxp, s->bxp);

            /* what is read past the copies of the last rows: defined */
            memset(s->edge + stride, 0, TS_OVERREAD);
            memset(s->edge + 2 * stride + TS_OVERREAD, 0, TS_OVERREAD);
        }
    }

    if (p->y.resample) {
        if (ts_scratch_grow((void **) &s->ky, &s->ky_size,
                            ny * p->y.ksize * sizeof(int32_t)) != 0
            || ts_scratch_grow((void **) &s->by, &s->by_size,
                               ny * 2 * sizeof(int32_t)) != 0
            || ts_scratch_grow((void **) &s->vline, &s->vline_size,
                               line + TS_OVERWRITE) != 0)
        {
            return -1;
        }

        ts_coeffs(&p->y, s->kd, s->ky, s->by);

        maxlen = 0;

        for (j = 0; j < ny; j++) {
            if ((uint32_t) s->by[2 * j + 1] > maxlen) {
                maxlen = (uint32_t) s->by[2 * j + 1];
            }
        }

        if (maxlen <= TS_RING_MAX) {
            s->nslots = maxlen + 2;

            if (ts_scratch_grow((void **) &s->taps, &s->taps_size,
                                (maxlen + 1) * sizeof(uint8_t *)) != 0)
            {
                return -1;
            }

            if (s->simd_v) {
                np = (p->y.ksize + 1) / 2;

                if (ts_scratch_grow((void **) &s->kyp, &s->kyp_size,
                                    ny * 2 * np * sizeof(uint32_t)) != 0)
                {
                    return -1;
                }

                ts_coeff_pairs(s->ky, s->by, p->y.ksize, ny, s->kyp);
            }

        } else {
            ns = 1;
            f = 0;

            for (j = 0; j < ny; j++) {
                while (s->by[2 * f] + s->by[2 * f + 1] <= s->by[2 * j]) {
                    f++;
                }

                if (j + 1 - f > ns) {
                    ns = j + 1 - f;
                }
            }

            s->nacc = ns;

            /* two values per 64-bit sum */
            if ((line + 1) / 2 > SIZE_MAX / sizeof(uint64_t) / ns
                || ts_scratch_grow((void **) &s->acc, &s->acc_size,
                                   (line + 1) / 2 * ns * sizeof(uint64_t))
                   != 0)
            {
                return -1;
            }
        }
    }

    if (p->x.resample
        && (s->pitch > SIZE_MAX / s->nslots
            || ts_scratch_grow((void **) &s->lines, &s->lines_size,
                               s->nslots * s->pitch) != 0))
    {
        return -1;
    }

    return ts_scratch_grow((void **) &s->rows, &s->rows_size,
                           s->nslots * sizeof(uint8_t *));
}


static int
ts_scratch_grow(void **buf, size_t *size, size_t need)
{
    void  *p;

    if (need <= *size) {
        return 0;
    }

    /* no need to keep the old contents: free first, less at once */
    free(*buf);
    *size = 0;

    p = malloc(need);
    *buf = p;

    if (p == NULL) {
        return -1;
    }

    *size = need;

    return 0;
}


/*
 * The calling thread's scratch.  A process-wide key (not nginx state: the
 * same for every cycle); its destructor frees a thread's scratch when the
 * thread exits.
 */
ts_scratch_t *
ts_scratch_get(void)
{
    ts_scratch_t  *s;

    if (pthread_once(&ts_scratch_once, ts_scratch_key_init) != 0
        || !ts_scratch_key_ok)
    {
        return NULL;
    }

    s = pthread_getspecific(ts_scratch_key);
    if (s != NULL) {
        return s;
    }

    s = calloc(1, sizeof(ts_scratch_t));
    if (s == NULL) {
        return NULL;
    }

    if (pthread_setspecific(ts_scratch_key, s) != 0) {
        free(s);
        return NULL;
    }

    return s;
}


static void
ts_scratch_key_init(void)
{
    ts_scratch_key_ok = (pthread_key_create(&ts_scratch_key, ts_scratch_free)
                         == 0);
}


static void
ts_scratch_free(void *data)
{
    ts_scratch_t  *s = data;

    free(s->kx);
    free(s->bx);
    free(s->ky);
    free(s->by);
    free(s->kd);
    free(s->kxp);
    free(s->bxp);
    free(s->kyp);
    free(s->lines);
    free(s->rows);
    free(s->taps);
    free(s->vline);
    free(s->edge);
    free(s->acc);
    free(s);
}


/*
 * Pillow's precompute_coeffs and normalize_coeffs_8bpc for BILINEAR, for
 * the output indices [o0, o1) only: the same expressions in the same
 * order, so the same doubles and the same rounded ints.  bounds: the first
 * source index and the count per index.
 */
static void
ts_coeffs(const ts_axis_t *ax, double *kd, int32_t *k, int32_t *bounds)
{
    int       x, xmin, xmax;
    double    scale, filterscale, support, center, ww, ss, w, v;
    int32_t  *kk;
    uint32_t  o;
    int64_t   xx;

    filterscale = scale = (double) (float) ax->in / ax->rsize;
    if (filterscale < 1.0) {
        filterscale = 1.0;
    }

    support = 1.0 * filterscale;
    ss = 1.0 / filterscale;

    for (o = ax->o0; o < ax->o1; o++) {
        xx = o + ax->off;
        kk = k + (size_t) (o - ax->o0) * ax->ksize;

        center = (xx + 0.5) * scale;
        ww = 0.0;

        /* Pillow rounds by truncation after + 0.5, then clamps */
        v = center - support + 0.5;
        xmin = v < 0.0 ? 0 : (int) v;

        v = center + support + 0.5;
        xmax = v >= (double) ax->in ? (int) ax->in : (int) v;

        xmax -= xmin;

        for (x = 0; x < xmax; x++) {
            /* bilinear_filter */
            w = (x + xmin - center + 0.5) * ss;
            if (w < 0.0) {
                w = -w;
            }
            w = w < 1.0 ? 1.0 - w : 0.0;

            kd[x] = w;
            ww += w;
        }

        for (x = 0; x < xmax; x++) {
            if (ww != 0.0) {
                kd[x] /= ww;
            }
        }

        for (x = 0; x < xmax; x++) {
            if (kd[x] < 0) {
                kk[x] = (int) (-0.5 + kd[x] * (1 << TS_PRECISION_BITS));

            } else {
                kk[x] = (int) (0.5 + kd[x] * (1 << TS_PRECISION_BITS));
            }
        }

        bounds[2 * (o - ax->o0)] = xmin;
        bounds[2 * (o - ax->o0) + 1] = xmax;
    }
}


/*
 * Coefficients for pmaddwd, per index: np = (ksize + 1) / 2 words of the
 * low parts of taps 2m and 2m + 1 (the second in the high half), then np
 * of their high parts; the taps past the index's count are 0.
 */
static void
ts_coeff_pairs(const int32_t *k, const int32_t *bounds, int ksize,
    uint32_t n, uint32_t *pairs)
{
    int             x, np, len;
    uint32_t        i, k0, k1, *pp;
    const int32_t  *kk;

    np = (ksize + 1) / 2;

    for (i = 0; i < n; i++) {
        kk = k + (size_t) i * ksize;
        len = bounds[2 * i + 1];
        pp = pairs + (size_t) i * 2 * np;

        for (x = 0; x < np; x++) {
            k0 = 2 * x < len ? (uint32_t) kk[2 * x] : 0;
            k1 = 2 * x + 1 < len ? (uint32_t) kk[2 * x + 1] : 0;

            pp[x] = TS_KLOW(k0) | TS_KLOW(k1) << 16;
            pp[np + x] = (k0 >> TS_KSPLIT) | (k1 >> TS_KSPLIT) << 16;
        }
    }
}


/*
 * ts_coeff_pairs with the same number of pairs m for every index: the most
 * any needs, (count + 1) / 2.  A window ending too close to the end for
 * 2m taps starts earlier instead (at in - 2m, or 0 when in < 2m, then 2m
 * = in + 1), its coefficients after as many zeros: the taps read stay
 * within [0, in], starts[i] the first.  Returns m.
 */
static int
ts_coeff_pairs_even(const int32_t *k, const int32_t *bounds, int ksize,
    uint32_t n, uint32_t in, uint32_t *pairs, int32_t *starts)
{
    int             x, m, len, d, t0, t1;
    int64_t         xmin, last;
    uint32_t        i, k0, k1, *pp;
    const int32_t  *kk;

    m = 1;

    for (i = 0; i < n; i++) {
        if ((bounds[2 * i + 1] + 1) / 2 > m) {
            m = (bounds[2 * i + 1] + 1) / 2;
        }
    }

    last = (int64_t) in - 2 * m;
    if (last < 0) {
        last = 0;
    }

    for (i = 0; i < n; i++) {
        kk = k + (size_t) i * ksize;
        xmin = bounds[2 * i];
        len = bounds[2 * i + 1];
        pp = pairs + (size_t) i * 2 * m;

        starts[i] = (int32_t) (xmin < last ? xmin : last);
        d = (int) (xmin - starts[i]);

        for (x = 0; x < m; x++) {
            t0 = 2 * x - d;
            t1 = 2 * x + 1 - d;
            k0 = t0 >= 0 && t0 < len ? (uint32_t) kk[t0] : 0;
            k1 = t1 >= 0 && t1 < len ? (uint32_t) kk[t1] : 0;

            pp[x] = TS_KLOW(k0) | TS_KLOW(k1) << 16;
            pp[m + x] = (k0 >> TS_KSPLIT) | (k1 >> TS_KSPLIT) << 16;
        }
    }

    return m;
}
