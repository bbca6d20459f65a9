/*
 * ts_image_transform.c: torchvision 0.14's Resize, CenterCrop, ToTensor
 * and Normalize on a PIL image of mode RGB or L, bit-exact, in one pass.
 *
 * What torchvision does (transforms/functional.py, functional_pil.py,
 * functional_tensor.py) and Pillow 9.4 under it (PIL/Image.py resize(),
 * src/libImaging/Resample.c):
 *
 *   Resize      the size by _compute_resized_output_size; the image is
 *               returned as it is when that is its size; otherwise
 *               ImagingResample, BILINEAR: a horizontal pass over the rows
 *               the vertical pass needs, then a vertical pass, each only
 *               when its size changes, each rounding to uint8 (clip8) with
 *               22-bit fixed-point coefficients;
 *   CenterCrop  zero padding when the crop is larger, then a crop whose
 *               offset is rounded half to even (Python's round());
 *   ToTensor    v / 255 in float32; Normalize: (x - mean) / std.
 *
 * Every resized pixel depends only on its own coefficients and the source
 * pixels, so only the part of the resized image the crop keeps is computed:
 * each source row the crop needs goes through the horizontal pass once,
 * into a ring of lines; an output row is summed from its lines as soon as
 * the last of them is there, and goes through the ToTensor/Normalize table
 * straight into the CHW tensor.
 *
 * Integer sums do not depend on their order, and every sum is Pillow's
 * int: BILINEAR's coefficients are never negative and add up to at most
 * 2^23 (each rounds up by less than half, and only one of at least half
 * rounds up at all), so a sum of 8-bit values times them, plus the
 * rounding, stays below 2^31 in any 32-bit lane.  On x86-64 with AVX2
 * (chosen at run time) both passes run 8 such lanes at once; elsewhere,
 * or without AVX2, the portable C below them.
 */

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* -DTS_IMAGE_NO_SIMD: the portable C alone, as on other processors */
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)           \
    && !defined(TS_IMAGE_NO_SIMD)
#define TS_HAVE_AVX2  1
#include <immintrin.h>
#else
#define TS_HAVE_AVX2  0
#endif

#include "ts_image.h"
#include "ts_image_int.h"


/* Resample.c: 8 bits of result, 2 bits of headroom in an int */
#define TS_PRECISION_BITS  (32 - 8 - 2)
#define TS_HALF            (1 << (TS_PRECISION_BITS - 1))
/* the rounding half in both halves of a two-lane 64-bit sum */
#define TS_HALF2           ((uint64_t) TS_HALF << 32 | TS_HALF)

/*
 * pmaddwd multiplies signed 16-bit values: a coefficient k (0 ..  2^22)
 * is split into k >> 15 (0 ..  128) and k & 0x7fff, and the two sums are
 * put together as (hi << 15) + lo, the same 32-bit value
 */
#define TS_KSPLIT          15
#define TS_KLOW(k)         ((k) & ((1 << TS_KSPLIT) - 1))

/* bytes the vector code may read past the last pixel of a source row,
 * and write past the end of a line (kept free in the scratch) */
#define TS_OVERREAD        16
#define TS_OVERWRITE       32

/* the longest window a ring of source rows serves (longer: running sums) */
#define TS_RING_MAX        128

/* the largest integer a double holds exactly (_compute_resized_output_size
 * divides in double) */
#define TS_DOUBLE_EXACT    (1ULL << 53)


/* one axis of the transform */
typedef struct {
    uint32_t   in;          /* the image's size along the axis */
    uint32_t   rsize;       /* after Resize */
    uint32_t   out;         /* after CenterCrop */
    int64_t    off;         /* resized index of output index 0 */
    uint32_t   o0;          /* output indices [o0, o1) fall inside the */
    uint32_t   o1;          /*   resized image; the others are padding */
    int        resample;    /* Pillow resamples along this axis */
    int        ksize;       /* Pillow's coefficients per index */
} ts_axis_t;


typedef struct {
    ts_axis_t  x;
    ts_axis_t  y;
} ts_plan_t;


/* per thread, reused: grown as needed, freed when the thread exits */
typedef struct {
    int32_t         *kx;        /* coefficients, ksize per output column */
    int32_t         *bx;        /* first source column, count, per column */
    int32_t         *ky;
    int32_t         *by;
    double          *kd;        /* one index's coefficients before rounding */
    uint32_t        *kxp;       /* kx as pmaddwd pairs (ts_coeff_pairs_even) */
    int32_t         *bxp;       /*   and the first source column of each */
    uint32_t        *kyp;       /* ky as pmaddwd pairs (ts_coeff_pairs) */
    uint8_t         *lines;     /* the ring: source rows after the */
    const uint8_t  **rows;      /*   horizontal pass (or the rows) */
    const uint8_t  **taps;      /* an output row's rows, in order */
    uint8_t         *vline;     /* an output row after the vertical pass */
    uint8_t         *edge;      /* the image's last rows, with room after */
    uint64_t        *acc;       /* vertical sums, a ring of output rows */

    size_t           kx_size;
    size_t           bx_size;
    size_t           ky_size;
    size_t           by_size;
    size_t           kd_size;
    size_t           kxp_size;
    size_t           bxp_size;
    size_t           kyp_size;
    size_t           lines_size;
    size_t           rows_size;
    size_t           taps_size;
    size_t           vline_size;
    size_t           edge_size;
    size_t           acc_size;

    size_t           pitch;     /* bytes per line of the ring */
    uint32_t         nslots;    /* lines in the ring */
    uint32_t         nacc;      /* output rows in acc; 0: no running sums */
    int              mx;        /* pairs of taps per column in kxp */
    int              simd_h;    /* the vector code for each pass */
    int              simd_v;
} ts_scratch_t;


static ts_status_e ts_image_plan(const ts_image_transform_t *t, uint32_t w,
    uint32_t h, ts_plan_t *p, char *err, size_t errlen);
static ts_status_e ts_axis_resize_check(ts_axis_t *ax, char *err,
    size_t errlen);
static void ts_axis_crop(ts_axis_t *ax, uint32_t crop);
static ts_scratch_t *ts_scratch_get(void);
static void ts_scratch_free(void *data);
static void ts_scratch_key_init(void);
static int ts_scratch_grow(void **buf, size_t *size, size_t need);
static int ts_scratch_prepare(ts_scratch_t *s, const ts_plan_t *p,
    const ts_image_t *img);
static void ts_coeffs(const ts_axis_t *ax, double *kd, int32_t *k,
    int32_t *bounds);
static void ts_coeff_pairs(const int32_t *k, const int32_t *bounds,
    int ksize, uint32_t n, uint32_t *pairs);
static int ts_coeff_pairs_even(const int32_t *k, const int32_t *bounds,
    int ksize, uint32_t n, uint32_t in, uint32_t *pairs, int32_t *starts);
static void ts_lut(const ts_image_transform_t *t, int c, float lut[3][256]);
static uint32_t ts_source_rows(const ts_image_t *img, const ts_plan_t *p,
    ts_scratch_t *s, uint32_t r, uint32_t end, uint32_t rx0);
static void ts_resample_lines(const uint8_t *src0, const uint8_t *src1,
    const int32_t *k, const int32_t *bounds, int ksize, uint32_t n, int c,
    uint8_t *dst0, uint8_t *dst1);
static void ts_resample_vertical(const uint8_t **rows, const int32_t *k,
    int len, size_t n, uint8_t *dst);
static void ts_acc_init(uint64_t *a, size_t pairs);
static void ts_acc_add(uint64_t *a, const uint8_t *row, size_t n,
    uint32_t k);
static void ts_acc_finish(const uint64_t *a, size_t n, uint8_t *dst);
static void ts_emit_row(const ts_plan_t *p, int c, uint32_t oy,
    const uint8_t *row, float lut[3][256], float *out);
static void ts_emit_pad_row(const ts_plan_t *p, int c, uint32_t oy,
    float lut[3][256], float *out);
static inline uint8_t ts_clip8(int32_t ss);
static void ts_simd_init(void);
static void ts_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#if (TS_HAVE_AVX2)
static void ts_resample_lines3_avx2(const uint8_t *src0,
    const uint8_t *src1, const uint32_t *kp, const int32_t *starts, int m,
    uint32_t n, uint8_t *dst0, uint8_t *dst1);
static void ts_resample_vertical_avx2(const uint8_t **rows,
    const int32_t *k, const uint32_t *kp, int np, int len, size_t n,
    uint8_t *dst);
#endif


static pthread_once_t  ts_scratch_once = PTHREAD_ONCE_INIT;
static pthread_key_t   ts_scratch_key;
static int             ts_scratch_key_ok;

/* what the processor offers, once (the same for every cycle), and what
 * is used: TS_IMAGE_SIMD_* */
static pthread_once_t  ts_simd_once = PTHREAD_ONCE_INIT;
static int             ts_simd_cpu;
static int             ts_simd_use;

void
ts_image_output_size(const ts_image_transform_t *t, uint32_t w, uint32_t h,
    uint32_t *out_w, uint32_t *out_h)
{
    ts_plan_t  p;

    if (ts_image_plan(t, w, h, &p, NULL, 0) != TS_STATUS_OK) {
        *out_w = 0;
        *out_h = 0;
        return;
    }

    *out_w = p.x.out;
    *out_h = p.y.out;
}


ts_status_e
ts_image_transform(const ts_image_t *img, const ts_image_transform_t *t,
    float *out, char *err, size_t errlen)
{
    int             c, len, i;
#if (TS_HAVE_AVX2)
    int             np;
#endif
    float           lut[3][256];
    size_t          n, pairs;
    uint64_t       *a;
    uint32_t        j, r, nx, ny, first, next, ylo, yhi, y0, rx0, ry0, made;
    ts_plan_t       p;
    ts_status_e     rc;
    ts_scratch_t   *s;
    const uint8_t  *row;

    c = img->channels;

    if (c != 1 && c != 3) {
        ts_error(err, errlen, "an image of %d channels (1 or 3 only)", c);
        return TS_STATUS_BAD_INPUT;
    }

    if (img->pixels == NULL) {
        ts_error(err, errlen, "an image without pixels");
        return TS_STATUS_BAD_INPUT;
    }

    rc = ts_image_plan(t, img->width, img->height, &p, err, errlen);
    if (rc != TS_STATUS_OK) {
        return rc;
    }

    (void) pthread_once(&ts_simd_once, ts_simd_init);

    s = ts_scratch_get();
    if (s == NULL || ts_scratch_prepare(s, &p, img) != 0) {
        ts_error(err, errlen, "out of memory for the transform of a %ux%u "
                 "image", img->width, img->height);
        return TS_STATUS_NO_RESOURCES;
    }

    ts_lut(t, c, lut);

    nx = p.x.o1 - p.x.o0;
    ny = p.y.o1 - p.y.o0;
    rx0 = (uint32_t) (p.x.o0 + p.x.off);
    ry0 = (uint32_t) (p.y.o0 + p.y.off);
    n = (size_t) nx * c;

    for (j = 0; j < p.y.o0; j++) {
        ts_emit_pad_row(&p, c, j, lut, out);
    }

    for (j = p.y.o1; j < p.y.out; j++) {
        ts_emit_pad_row(&p, c, j, lut, out);
    }

    if (p.y.resample) {
        ylo = (uint32_t) s->by[0];
        yhi = (uint32_t) (s->by[2 * (ny - 1)] + s->by[2 * (ny - 1) + 1]);

    } else {
        ylo = ry0;
        yhi = ry0 + ny;
    }

    made = ylo;

    if (s->nacc == 0) {
        /*
         * Source rows in order, into the ring (row r in slot r % nslots);
         * output row j once its last source row is there.  The windows
         * move forward with j, so the ring keeps every row still needed:
         * a window, and one more row made with its last.
         */

        for (j = 0; j < ny; j++) {
            if (p.y.resample) {
                y0 = (uint32_t) s->by[2 * j];
                len = s->by[2 * j + 1];

            } else {
                y0 = ry0 + j;
                len = 1;
            }

            while (made < y0 + len) {
                made = ts_source_rows(img, &p, s, made, yhi, rx0);
            }

            if (!p.y.resample) {
                row = s->rows[y0 % s->nslots];

            } else {
                for (i = 0; i < len; i++) {
                    s->taps[i] = s->rows[(y0 + i) % s->nslots];
                }

                /* a row for the second half of the last pair */
                s->taps[len] = len > 0 ? s->taps[len - 1] : NULL;

#if (TS_HAVE_AVX2)
                if (s->simd_v) {
                    np = (p.y.ksize + 1) / 2;
                    ts_resample_vertical_avx2(s->taps,
                        s->ky + (size_t) j * p.y.ksize,
                        s->kyp + (size_t) j * 2 * np, np, len, n, s->vline);
                } else
#endif
                {
                    ts_resample_vertical(s->taps,
                                         s->ky + (size_t) j * p.y.ksize, len,
                                         n, s->vline);
                }

                row = s->vline;
            }

            ts_emit_row(&p, c, p.y.o0 + j, row, lut, out);
        }

        return TS_STATUS_OK;
    }

    /*
     * Windows too long for a ring of rows: running sums instead.  Output
     * rows [first, next) are the ones whose window has begun and not ended
     * (the windows move forward with the row, without gaps: the support is
     * at least the step), in acc slot (row % nacc); each source row is added
     * into them as it comes.
     */

    pairs = (n + 1) / 2;
    first = 0;
    next = 0;

    for (r = ylo; r < yhi; r++) {
        if (made <= r) {
            made = ts_source_rows(img, &p, s, r, yhi, rx0);
        }

        row = s->rows[r % s->nslots];

        for ( /* void */ ; next < ny && (uint32_t) s->by[2 * next] <= r;
             next++)
        {
            ts_acc_init(s->acc + (next % s->nacc) * pairs, pairs);
        }

        for (j = first; j < next; j++) {
            ts_acc_add(s->acc + (j % s->nacc) * pairs, row, n,
                       (uint32_t) s->ky[(size_t) j * p.y.ksize
                                        + (r - s->by[2 * j])]);
        }

        while (first < next
               && (uint32_t) (s->by[2 * first] + s->by[2 * first + 1]) <= r + 1)
        {
            a = s->acc + (first % s->nacc) * pairs;

            ts_acc_finish(a, n, s->vline);
            ts_emit_row(&p, c, p.y.o0 + first, s->vline, lut, out);
            first++;
        }
    }

    return TS_STATUS_OK;
}


int
ts_image_simd(int level)
{
    int  old;

    (void) pthread_once(&ts_simd_once, ts_simd_init);

    old = ts_simd_use;

    if (level >= 0) {
        ts_simd_use = level < ts_simd_cpu ? level : ts_simd_cpu;
    }

    return old;
}


static void
ts_simd_init(void)
{
#if (TS_HAVE_AVX2)
    __builtin_cpu_init();

    /* gcc's check includes the system's saving of the ymm registers */
    if (__builtin_cpu_supports("avx2")) {
        ts_simd_cpu = TS_IMAGE_SIMD_AVX2;
    }
#endif

    ts_simd_use = ts_simd_cpu;
}


/*
 * Source row r after the horizontal pass (or as it is, when there is
 * none) into the ring, with row r + 1 when it is needed too (r + 1 < end):
 * the two go through the horizontal pass together.  Returns the next row
 * to make.
 */
static uint32_t
ts_source_rows(const ts_image_t *img, const ts_plan_t *p, ts_scratch_t *s,
    uint32_t r, uint32_t end, uint32_t rx0)
{
    int             c, two;
    size_t          stride;
    uint8_t        *d0, *d1;
    const uint8_t  *src0, *src1;

    c = img->channels;
    stride = (size_t) img->width * c;
    src0 = img->pixels + r * stride;

    if (!p->x.resample) {
        s->rows[r % s->nslots] = src0 + (size_t) rx0 * c;
        return r + 1;
    }

    two = (r + 1 < end);
    src1 = two ? src0 + stride : src0;
    d0 = s->lines + (r % s->nslots) * s->pitch;
    d1 = two ? s->lines + ((r + 1) % s->nslots) * s->pitch : d0;

#if (TS_HAVE_AVX2)
    if (s->simd_h) {
        /*
         * the loads read up to TS_OVERREAD bytes past a row: the image's
         * last rows are read from copies with room after them
         */
        if ((size_t) (img->height - 1 - r) * stride < TS_OVERREAD) {
            memcpy(s->edge, src0, stride);
            src0 = s->edge;
        }

        if (two && (size_t) (img->height - 2 - r) * stride < TS_OVERREAD) {
            memcpy(s->edge + stride + TS_OVERREAD, src1, stride);
            src1 = s->edge + stride + TS_OVERREAD;
        }

        ts_resample_lines3_avx2(src0, two ? src1 : src0, s->kxp, s->bxp,
                                s->mx, p->x.o1 - p->x.o0, d0, d1);
    } else
#endif
    {
        ts_resample_lines(src0, two ? src1 : NULL, s->kx, s->bx, p->x.ksize,
                          p->x.o1 - p->x.o0, c, d0, d1);
    }

    s->rows[r % s->nslots] = d0;

    if (!two) {
        return r + 1;
    }

    s->rows[(r + 1) % s->nslots] = d1;

    return r + 2;
}


/*
 * The sizes torchvision and Pillow arrive at, and what they refuse:
 * Pillow's resize takes C ints of at least 1, and its coefficient buffer
 * must fit an int (a MemoryError); the result's bytes must fit memory.
 */
static ts_status_e
ts_image_plan(const ts_image_transform_t *t, uint32_t w, uint32_t h,
    ts_plan_t *p, char *err, size_t errlen)
{
    uint64_t   rw, rh, shorter, longer, product, nl;
    uint32_t   cw, ch;
    ts_status_e  rc;

    memset(p, 0, sizeof(ts_plan_t));

    if (w == 0 || h == 0 || w > INT_MAX || h > INT_MAX) {
        ts_error(err, errlen, "an image of %ux%u", w, h);
        return TS_STATUS_BAD_INPUT;
    }

    if (t->resize_short) {
        /* _compute_resized_output_size: int(size * long / short) */
        shorter = w <= h ? w : h;
        longer = w <= h ? h : w;
        product = (uint64_t) t->resize_short * longer;

        if (product >= TS_DOUBLE_EXACT) {
            ts_error(err, errlen, "Resize(%u) of a %ux%u image: too large",
                     t->resize_short, w, h);
            return TS_STATUS_BAD_INPUT;
        }

        nl = (uint64_t) ((double) product / (double) shorter);

        rw = w <= h ? t->resize_short : nl;
        rh = w <= h ? nl : t->resize_short;

    } else if (t->resize_w || t->resize_h) {
        rw = t->resize_w;
        rh = t->resize_h;

    } else {
        rw = w;
        rh = h;
    }

    if (rw == 0 || rh == 0 || rw > INT_MAX || rh > INT_MAX) {
        ts_error(err, errlen, "Resize of a %ux%u image to %llux%llu", w, h,
                 (unsigned long long) rw, (unsigned long long) rh);
        return TS_STATUS_BAD_INPUT;
    }

    p->x.in = w;
    p->x.rsize = (uint32_t) rw;
    p->y.in = h;
    p->y.rsize = (uint32_t) rh;

    /* torchvision returns the image itself when its size matches */
    if (rw != w || rh != h) {
        /* Pillow computes both axes' coefficients, needed or not */
        rc = ts_axis_resize_check(&p->x, err, errlen);
        if (rc != TS_STATUS_OK) {
            return rc;
        }

        rc = ts_axis_resize_check(&p->y, err, errlen);
        if (rc != TS_STATUS_OK) {
            return rc;
        }

        /* need_horizontal, need_vertical */
        p->x.resample = (rw != w);
        p->y.resample = (rh != h);
    }

    if (t->crop_w || t->crop_h) {
        cw = t->crop_w;
        ch = t->crop_h;

        if (cw == 0 || ch == 0 || cw > INT_MAX || ch > INT_MAX) {
            ts_error(err, errlen, "CenterCrop to %ux%u", cw, ch);
            return TS_STATUS_BAD_INPUT;
        }

    } else {
        cw = p->x.rsize;
        ch = p->y.rsize;
    }

    if ((uint64_t) cw * ch > SIZE_MAX / (3 * sizeof(float))) {
        ts_error(err, errlen, "an output of %ux%u: too large", cw, ch);
        return TS_STATUS_BAD_INPUT;
    }

    ts_axis_crop(&p->x, cw);
    ts_axis_crop(&p->y, ch);

    return TS_STATUS_OK;
}


/* precompute_coeffs' ksize and its check against INT_MAX */
static ts_status_e
ts_axis_resize_check(ts_axis_t *ax, char *err, size_t errlen)
{
    double   support;
    int64_t  ksize;

    /* (in1 - in0) is a float in Pillow: the box is float[4] */
    support = (double) (float) ax->in / ax->rsize;

    if (support < 1.0) {
        support = 1.0;
    }

    /* BILINEAR's support is 1.0: the support is the filter's scale */
    ksize = (int64_t) ceil(support) * 2 + 1;

    if (ksize * (int64_t) sizeof(double) > INT_MAX
        || ax->rsize > INT_MAX / (ksize * (int64_t) sizeof(double)))
    {
        ts_error(err, errlen, "Resize from %u to %u: too large for Pillow",
                 ax->in, ax->rsize);
        return TS_STATUS_BAD_INPUT;
    }

    ax->ksize = (int) ksize;

    return TS_STATUS_OK;
}


/*
 * center_crop: pad with (crop - size) // 2 before when the crop is larger
 * (the padded size is then the crop's: its offset is 0), else the offset
 * int(round((size - crop) / 2.0)), half to even.
 */
static void
ts_axis_crop(ts_axis_t *ax, uint32_t crop)
{
    int64_t   end;
    uint32_t  d, half;

    ax->out = crop;

    if (crop > ax->rsize) {
        ax->off = -(int64_t) ((crop - ax->rsize) / 2);

    } else {
        d = ax->rsize - crop;
        half = d / 2;
        ax->off = half + ((d & 1) && (half & 1));
    }

    ax->o0 = ax->off < 0 ? (uint32_t) -ax->off : 0;

    end = (int64_t) ax->rsize - ax->off;
    ax->o1 = end < crop ? (uint32_t) end : crop;
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
 * ToTensor and Normalize per value: img.float().div(255), then
 * tensor.sub_(mean).div_(std), all in float32 (the padding's 0 too).
 */
static void
ts_lut(const ts_image_transform_t *t, int c, float lut[3][256])
{
    int    ch, v;
    float  x;

    for (ch = 0; ch < c; ch++) {
        for (v = 0; v < 256; v++) {
            x = (float) v / 255.0f;

            if (t->normalize) {
                x = x - t->mean[ch];
                x = x / t->std[ch];
            }

            lut[ch][v] = x;
        }
    }
}


/*
 * ImagingResampleHorizontal_8bpc for rows src0 and src1 (or src0 alone)
 * and n output columns.  Two rows in one 64-bit sum, src0's in the low
 * half: BILINEAR's coefficients are never negative and a sum stays below
 * 2^31 (255 times at most 2^22 plus the rounding of each), so no half
 * carries into the other and each half is Pillow's int.
 */
static void
ts_resample_lines(const uint8_t *src0, const uint8_t *src1, const int32_t *k,
    const int32_t *bounds, int ksize, uint32_t n, int c, uint8_t *dst0,
    uint8_t *dst1)
{
    int             x, xlen;
    size_t          off;
    uint64_t        k64, ss0, ss1, ss2;
    uint32_t        i;
    const int32_t  *kk;
    const uint8_t  *p0, *p1;

    if (src1 == NULL) {
        /* the last row: itself in both halves */
        src1 = src0;
        dst1 = dst0;
    }

    for (i = 0; i < n; i++) {
        off = (size_t) bounds[2 * i] * c;
        xlen = bounds[2 * i + 1];
        kk = k + (size_t) i * ksize;
        p0 = src0 + off;
        p1 = src1 + off;

        if (c == 1) {
            ss0 = TS_HALF2;

            for (x = 0; x < xlen; x++) {
                k64 = (uint32_t) kk[x];
                ss0 += (p0[x] | (uint64_t) p1[x] << 32) * k64;
            }

            dst0[i] = ts_clip8((int32_t) (uint32_t) ss0);
            dst1[i] = ts_clip8((int32_t) (ss0 >> 32));

            continue;
        }

        ss0 = TS_HALF2;
        ss1 = TS_HALF2;
        ss2 = TS_HALF2;

        for (x = 0; x < xlen; x++) {
            k64 = (uint32_t) kk[x];
            ss0 += (p0[0] | (uint64_t) p1[0] << 32) * k64;
            ss1 += (p0[1] | (uint64_t) p1[1] << 32) * k64;
            ss2 += (p0[2] | (uint64_t) p1[2] << 32) * k64;
            p0 += 3;
            p1 += 3;
        }

        dst0[3 * i] = ts_clip8((int32_t) (uint32_t) ss0);
        dst0[3 * i + 1] = ts_clip8((int32_t) (uint32_t) ss1);
        dst0[3 * i + 2] = ts_clip8((int32_t) (uint32_t) ss2);
        dst1[3 * i] = ts_clip8((int32_t) (ss0 >> 32));
        dst1[3 * i + 1] = ts_clip8((int32_t) (ss1 >> 32));
        dst1[3 * i + 2] = ts_clip8((int32_t) (ss2 >> 32));
    }
}


/*
 * ImagingResampleVertical_8bpc as running sums: values 2i and 2i + 1 of
 * an output row in the halves of a[i] (as in ts_resample_lines); each
 * source row adds its coefficient times its values.
 */
static void
ts_acc_init(uint64_t *a, size_t pairs)
{
    size_t  i;

    for (i = 0; i < pairs; i++) {
        a[i] = TS_HALF2;
    }
}


static void
ts_acc_add(uint64_t *a, const uint8_t *row, size_t n, uint32_t k)
{
    size_t  i;

    for (i = 0; i + 1 < n; i += 2) {
        a[i / 2] += (row[i] | (uint64_t) row[i + 1] << 32) * k;
    }

    if (n & 1) {
        a[n / 2] += (uint64_t) row[n - 1] * k;
    }
}


static void
ts_acc_finish(const uint64_t *a, size_t n, uint8_t *dst)
{
    size_t  i;

    for (i = 0; i + 1 < n; i += 2) {
        dst[i] = ts_clip8((int32_t) (uint32_t) a[i / 2]);
        dst[i + 1] = ts_clip8((int32_t) (a[i / 2] >> 32));
    }

    if (n & 1) {
        dst[n - 1] = ts_clip8((int32_t) (uint32_t) a[n / 2]);
    }
}


/*
 * ImagingResampleVertical_8bpc for one output row: its len source rows
 * times their coefficients, summed per value, in blocks (each source row
 * once per block), values 2i and 2i + 1 in the halves of a 64-bit sum (as
 * in ts_resample_lines: no half carries into the other).
 */
static void
ts_resample_vertical(const uint8_t **rows, const int32_t *k, int len,
    size_t n, uint8_t *dst)
{
    int             t;
    size_t          i, b, nb;
    uint64_t        ss[32], kt;
    const uint8_t  *src;

    for (i = 0; i < n; i += nb) {
        nb = n - i < 64 ? n - i : 64;

        for (b = 0; b < (nb + 1) / 2; b++) {
            ss[b] = TS_HALF2;
        }

        for (t = 0; t < len; t++) {
            kt = (uint32_t) k[t];
            src = rows[t] + i;

            for (b = 0; b + 1 < nb; b += 2) {
                ss[b / 2] += (src[b] | (uint64_t) src[b + 1] << 32) * kt;
            }

            if (nb & 1) {
                ss[nb / 2] += src[nb - 1] * kt;
            }
        }

        for (b = 0; b + 1 < nb; b += 2) {
            dst[i + b] = ts_clip8((int32_t) (uint32_t) ss[b / 2]);
            dst[i + b + 1] = ts_clip8((int32_t) (ss[b / 2] >> 32));
        }

        if (nb & 1) {
            dst[i + nb - 1] = ts_clip8((int32_t) (uint32_t) ss[nb / 2]);
        }
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


#if (TS_HAVE_AVX2)

/*
 * ts_resample_lines for 3 channels with AVX2: rows src0 and src1 in the
 * two 128-bit lanes; per pair of taps, the two pixels' bytes as 16-bit
 * r r g g b b 0 0, pmaddwd with the pair's low and high coefficient parts
 * gives each channel's two products in one 32-bit lane.  A 16-byte load
 * serves two pairs.  Four output pixels are packed at a time, clipped as
 * clip8 by the saturating packs, into 16 bytes of which 12 are theirs (the
 * lines have room after them).  Every column has the same m pairs
 * (ts_coeff_pairs_even: no branch to mispredict), and the common m are
 * constants (the loop unrolled); reads up to 7 bytes past a row's last
 * pixel.
 */
__attribute__((target("avx2"), always_inline))
static inline __m256i
ts_pixel3_avx2(const uint8_t *p0, const uint8_t *p1, const uint32_t *kk,
    int m, __m256i pick0, __m256i pick1, __m256i half)
{
    int      x;
    __m256i  v, u, lo, hi;

    lo = _mm256_setzero_si256();
    hi = _mm256_setzero_si256();

#pragma GCC unroll 8
    for (x = 0; x + 1 < m; x += 2) {
        v = _mm256_inserti128_si256(
                _mm256_castsi128_si256(
                    _mm_loadu_si128((const __m128i *) (p0 + 6 * x))),
                _mm_loadu_si128((const __m128i *) (p1 + 6 * x)), 1);
        u = _mm256_shuffle_epi8(v, pick0);
        v = _mm256_shuffle_epi8(v, pick1);

        lo = _mm256_add_epi32(lo,
                 _mm256_madd_epi16(u, _mm256_set1_epi32((int) kk[x])));
        hi = _mm256_add_epi32(hi,
                 _mm256_madd_epi16(u, _mm256_set1_epi32((int) kk[m + x])));
        lo = _mm256_add_epi32(lo,
                 _mm256_madd_epi16(v, _mm256_set1_epi32((int) kk[x + 1])));
        hi = _mm256_add_epi32(hi,
                 _mm256_madd_epi16(v,
                     _mm256_set1_epi32((int) kk[m + x + 1])));
    }

    if (m & 1) {
        v = _mm256_inserti128_si256(
                _mm256_castsi128_si256(
                    _mm_loadl_epi64((const __m128i *) (p0 + 6 * x))),
                _mm_loadl_epi64((const __m128i *) (p1 + 6 * x)), 1);
        u = _mm256_shuffle_epi8(v, pick0);

        lo = _mm256_add_epi32(lo,
                 _mm256_madd_epi16(u, _mm256_set1_epi32((int) kk[x])));
        hi = _mm256_add_epi32(hi,
                 _mm256_madd_epi16(u, _mm256_set1_epi32((int) kk[m + x])));
    }

    v = _mm256_add_epi32(_mm256_slli_epi32(hi, TS_KSPLIT),
                         _mm256_add_epi32(lo, half));

    return _mm256_srai_epi32(v, TS_PRECISION_BITS);
}


/* lane per row: r g b 0 of four pixels, then their 12 bytes */
__attribute__((target("avx2"), always_inline))
static inline void
ts_store3_avx2(__m256i s0, __m256i s1, __m256i s2, __m256i s3,
    __m256i pack, uint8_t *dst0, uint8_t *dst1)
{
    __m256i  b;

    b = _mm256_packus_epi16(_mm256_packs_epi32(s0, s1),
                            _mm256_packs_epi32(s2, s3));
    b = _mm256_shuffle_epi8(b, pack);

    _mm_storeu_si128((__m128i *) dst0, _mm256_castsi256_si128(b));
    _mm_storeu_si128((__m128i *) dst1, _mm256_extracti128_si256(b, 1));
}


__attribute__((target("avx2"), always_inline))
static inline void
ts_lines3_avx2(const uint8_t *src0, const uint8_t *src1, const uint32_t *kp,
    const int32_t *starts, int m, uint32_t n, uint8_t *dst0, uint8_t *dst1)
{
    uint32_t  i, q;
    __m256i   pick0, pick1, pack, half, ss[4];

#define ts_pixel3(o)                                                          \
    ts_pixel3_avx2(src0 + (size_t) starts[o] * 3,                             \
                   src1 + (size_t) starts[o] * 3, kp + (size_t) (o) * 2 * m,  \
                   m, pick0, pick1, half)

    pick0 = _mm256_setr_epi8(0, -1, 3, -1, 1, -1, 4, -1,
                             2, -1, 5, -1, -1, -1, -1, -1,
                             0, -1, 3, -1, 1, -1, 4, -1,
                             2, -1, 5, -1, -1, -1, -1, -1);
    pick1 = _mm256_setr_epi8(6, -1, 9, -1, 7, -1, 10, -1,
                             8, -1, 11, -1, -1, -1, -1, -1,
                             6, -1, 9, -1, 7, -1, 10, -1,
                             8, -1, 11, -1, -1, -1, -1, -1);
    pack = _mm256_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14,
                            -1, -1, -1, -1,
                            0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14,
                            -1, -1, -1, -1);
    half = _mm256_set1_epi32(TS_HALF);

    for (i = 0; i + 4 <= n; i += 4) {
        ts_store3_avx2(ts_pixel3(i), ts_pixel3(i + 1), ts_pixel3(i + 2),
                       ts_pixel3(i + 3), pack, dst0 + 3 * (size_t) i,
                       dst1 + 3 * (size_t) i);
    }

    if (i < n) {
        for (q = 0; q < 4; q++) {
            ss[q] = i + q < n ? ts_pixel3(i + q) : _mm256_setzero_si256();
        }

        ts_store3_avx2(ss[0], ss[1], ss[2], ss[3], pack,
                       dst0 + 3 * (size_t) i, dst1 + 3 * (size_t) i);
    }

#undef ts_pixel3
}


__attribute__((target("avx2")))
static void
ts_resample_lines3_avx2(const uint8_t *src0, const uint8_t *src1,
    const uint32_t *kp, const int32_t *starts, int m, uint32_t n,
    uint8_t *dst0, uint8_t *dst1)
{
    /* upscaling: 1 or 2; 640x480 to 341x256: 3; 1920x1080 to 455x256: 5 */
    switch (m) {
    case 1:
        ts_lines3_avx2(src0, src1, kp, starts, 1, n, dst0, dst1);
        break;
    case 2:
        ts_lines3_avx2(src0, src1, kp, starts, 2, n, dst0, dst1);
        break;
    case 3:
        ts_lines3_avx2(src0, src1, kp, starts, 3, n, dst0, dst1);
        break;
    case 4:
        ts_lines3_avx2(src0, src1, kp, starts, 4, n, dst0, dst1);
        break;
    case 5:
        ts_lines3_avx2(src0, src1, kp, starts, 5, n, dst0, dst1);
        break;
    case 6:
        ts_lines3_avx2(src0, src1, kp, starts, 6, n, dst0, dst1);
        break;
    case 7:
        ts_lines3_avx2(src0, src1, kp, starts, 7, n, dst0, dst1);
        break;
    case 8:
        ts_lines3_avx2(src0, src1, kp, starts, 8, n, dst0, dst1);
        break;
    default:
        ts_lines3_avx2(src0, src1, kp, starts, m, n, dst0, dst1);
    }
}


/*
 * ts_resample_vertical with AVX2, 16 values at a time: two source rows'
 * values interleaved as 16-bit pairs, pmaddwd with the pair's low and high
 * coefficient parts; rows[len] is there for an odd len (its coefficient
 * is 0).  The values after the last 16 in C.
 */
__attribute__((target("avx2")))
static void
ts_resample_vertical_avx2(const uint8_t **rows, const int32_t *k,
    const uint32_t *kp, int np, int len, size_t n, uint8_t *dst)
{
    int       x, m, t;
    size_t    i;
    __m256i   a, b, u, w, kl, kh, l0, l1, h0, h1, half;
    uint32_t  ss;

    m = (len + 1) / 2;
    half = _mm256_set1_epi32(TS_HALF);

    for (i = 0; i + 16 <= n; i += 16) {
        l0 = _mm256_setzero_si256();
        l1 = l0;
        h0 = l0;
        h1 = l0;

        for (x = 0; x < m; x++) {
            a = _mm256_cvtepu8_epi16(
                    _mm_loadu_si128((const __m128i *) (rows[2 * x] + i)));
            b = _mm256_cvtepu8_epi16(
                    _mm_loadu_si128((const __m128i *) (rows[2 * x + 1] + i)));

            /* values 0-3 and 8-11 in u, 4-7 and 12-15 in w */
            u = _mm256_unpacklo_epi16(a, b);
            w = _mm256_unpackhi_epi16(a, b);

            kl = _mm256_set1_epi32((int) kp[x]);
            kh = _mm256_set1_epi32((int) kp[np + x]);

            l0 = _mm256_add_epi32(l0, _mm256_madd_epi16(u, kl));
            l1 = _mm256_add_epi32(l1, _mm256_madd_epi16(w, kl));
            h0 = _mm256_add_epi32(h0, _mm256_madd_epi16(u, kh));
            h1 = _mm256_add_epi32(h1, _mm256_madd_epi16(w, kh));
        }

        l0 = _mm256_srai_epi32(_mm256_add_epi32(
                 _mm256_slli_epi32(h0, TS_KSPLIT),
                 _mm256_add_epi32(l0, half)), TS_PRECISION_BITS);
        l1 = _mm256_srai_epi32(_mm256_add_epi32(
                 _mm256_slli_epi32(h1, TS_KSPLIT),
                 _mm256_add_epi32(l1, half)), TS_PRECISION_BITS);

        /* the packs undo the lanes' order: bytes 0-7 and 8-15 in the low
         * quarters of the two lanes */
        a = _mm256_packs_epi32(l0, l1);
        a = _mm256_packus_epi16(a, a);
        a = _mm256_permute4x64_epi64(a, 0x08);

        _mm_storeu_si128((__m128i *) (dst + i), _mm256_castsi256_si128(a));
    }

    for ( /* void */ ; i < n; i++) {
        ss = TS_HALF;

        for (t = 0; t < len; t++) {
            ss += (uint32_t) k[t] * rows[t][i];
        }

        dst[i] = ts_clip8((int32_t) ss);
    }
}

#endif


/* one output row of the tensor, from the pixels of its [o0, o1) part */
static void
ts_emit_row(const ts_plan_t *p, int c, uint32_t oy, const uint8_t *row,
    float lut[3][256], float *out)
{
    int           ch;
    float        *dst, *d0, *d1, *d2, pad;
    uint32_t      i, nx;
    const float  *l0, *l1, *l2;

    nx = p->x.o1 - p->x.o0;

    for (ch = 0; ch < c; ch++) {
        dst = out + ((size_t) ch * p->y.out + oy) * p->x.out;
        pad = lut[ch][0];

        for (i = 0; i < p->x.o0; i++) {
            dst[i] = pad;
        }

        for (i = p->x.o1; i < p->x.out; i++) {
            dst[i] = pad;
        }
    }

    d0 = out + (size_t) oy * p->x.out + p->x.o0;

    if (c == 1) {
        l0 = lut[0];

        for (i = 0; i < nx; i++) {
            d0[i] = l0[row[i]];
        }

        return;
    }

    /* the three planes at once, each pixel read once */
    d1 = d0 + (size_t) p->y.out * p->x.out;
    d2 = d1 + (size_t) p->y.out * p->x.out;
    l0 = lut[0];
    l1 = lut[1];
    l2 = lut[2];

    for (i = 0; i < nx; i++) {
        d0[i] = l0[row[3 * i]];
        d1[i] = l1[row[3 * i + 1]];
        d2[i] = l2[row[3 * i + 2]];
    }
}

/*
 * clip8: Pillow's table covers -640..639 of the shifted sum; with
 * BILINEAR's positive weights only the ends 0 and 255 are ever clipped
 */
static inline uint8_t
ts_clip8(int32_t ss)
{
    int32_t  v;

    v = ss >> TS_PRECISION_BITS;

    return (uint8_t) (v < 0 ? 0 : (v > 255 ? 255 : v));
}


static void
ts_emit_pad_row(const ts_plan_t *p, int c, uint32_t oy, float lut[3][256],
    float *out)
{
    int       ch;
    float    *dst;
    uint32_t  i;

    for (ch = 0; ch < c; ch++) {
        dst = out + ((size_t) ch * p->y.out + oy) * p->x.out;

        for (i = 0; i < p->x.out; i++) {
            dst[i] = lut[ch][0];
        }
    }
}


/*
 * The buffers this plan needs, grown in place, and the coefficients.  The
 * ring holds the longest window and one more row (rows are made in
 * pairs), or two rows for running sums; nacc: the most output rows whose
 * windows are open at once, at the source row where the window of row j
 * begins: j + 1 minus the rows whose windows ended before it.
 */
static int
ts_scratch_prepare(ts_scratch_t *s, const ts_plan_t *p, const ts_image_t *img)
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

    s->simd_h = (ts_simd_use >= TS_IMAGE_SIMD_AVX2 && c == 3);
    s->simd_v = (ts_simd_use >= TS_IMAGE_SIMD_AVX2);
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
static ts_scratch_t *
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


static void
ts_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list  args;

    if (err == NULL || errlen == 0) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(err, errlen, fmt, args);
    va_end(args);
}
