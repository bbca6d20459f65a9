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
 * each source row the crop needs goes through the horizontal pass into one
 * line, which is added at once into the vertical sums of the few output
 * rows it contributes to (a ring of accumulator rows); a finished row goes
 * through the ToTensor/Normalize table straight into the CHW tensor.
 * Integer sums do not depend on their order, so this is Pillow's result.
 */

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_image.h"


/* Resample.c: 8 bits of result, 2 bits of headroom in an int */
#define TS_PRECISION_BITS  (32 - 8 - 2)
#define TS_HALF            (1 << (TS_PRECISION_BITS - 1))
/* the rounding half in both halves of a two-lane 64-bit sum */
#define TS_HALF2           ((uint64_t) TS_HALF << 32 | TS_HALF)

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
    int32_t   *kx;          /* coefficients, ksize per output column */
    int32_t   *bx;          /* first source column, count, per column */
    int32_t   *ky;
    int32_t   *by;
    double    *kd;          /* one index's coefficients before rounding */
    uint8_t   *line;        /* a source row after the horizontal pass */
    uint8_t   *line1;       /*   and the next one, made with it */
    uint32_t   line_row1;   /* the row in line1 (UINT32_MAX: none) */
    uint8_t   *vline;       /* an output row after the vertical pass */
    uint64_t  *acc;         /* vertical sums, a ring of output rows */

    size_t     kx_size;
    size_t     bx_size;
    size_t     ky_size;
    size_t     by_size;
    size_t     kd_size;
    size_t     line_size;
    size_t     line1_size;
    size_t     vline_size;
    size_t     acc_size;
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
static int ts_scratch_prepare(ts_scratch_t *s, const ts_plan_t *p, int c,
    uint32_t *nslots);
static void ts_coeffs(const ts_axis_t *ax, double *kd, int32_t *k,
    int32_t *bounds);
static void ts_lut(const ts_image_transform_t *t, int c, float lut[3][256]);
static const uint8_t *ts_source_row(const ts_image_t *img,
    const ts_plan_t *p, ts_scratch_t *s, uint32_t r, uint32_t end,
    size_t stride, uint32_t rx0);
static void ts_resample_lines(const uint8_t *src0, const uint8_t *src1,
    const int32_t *k, const int32_t *bounds, int ksize, uint32_t n, int c,
    uint8_t *dst0, uint8_t *dst1);
static void ts_acc_init(uint64_t *a, size_t pairs);
static void ts_acc_add(uint64_t *a, const uint8_t *row, size_t n,
    uint32_t k);
static void ts_acc_finish(const uint64_t *a, size_t n, uint8_t *dst);
static void ts_emit_row(const ts_plan_t *p, int c, uint32_t oy,
    const uint8_t *row, float lut[3][256], float *out);
static void ts_emit_pad_row(const ts_plan_t *p, int c, uint32_t oy,
    float lut[3][256], float *out);
static inline uint8_t ts_clip8(int32_t ss);
static void ts_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));


static pthread_once_t  ts_scratch_once = PTHREAD_ONCE_INIT;
static pthread_key_t   ts_scratch_key;
static int             ts_scratch_key_ok;


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
    int             c;
    float           lut[3][256];
    size_t          stride, n, pairs;
    uint64_t       *a;
    uint32_t        j, r, nx, ny, nslots, first, next, ylo, yhi, rx0, ry0;
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

    s = ts_scratch_get();
    if (s == NULL || ts_scratch_prepare(s, &p, c, &nslots) != 0) {
        ts_error(err, errlen, "out of memory for the transform of a %ux%u "
                 "image", img->width, img->height);
        return TS_STATUS_NO_RESOURCES;
    }

    ts_lut(t, c, lut);

    nx = p.x.o1 - p.x.o0;
    ny = p.y.o1 - p.y.o0;
    rx0 = (uint32_t) (p.x.o0 + p.x.off);
    ry0 = (uint32_t) (p.y.o0 + p.y.off);
    stride = (size_t) img->width * c;
    n = (size_t) nx * c;
    pairs = (n + 1) / 2;

    for (j = 0; j < p.y.o0; j++) {
        ts_emit_pad_row(&p, c, j, lut, out);
    }

    for (j = p.y.o1; j < p.y.out; j++) {
        ts_emit_pad_row(&p, c, j, lut, out);
    }

    if (!p.y.resample) {
        /* at most the horizontal pass: one rounding, as Pillow's */

        for (j = 0; j < ny; j++) {
            row = ts_source_row(img, &p, s, ry0 + j, ry0 + ny, stride, rx0);
            ts_emit_row(&p, c, p.y.o0 + j, row, lut, out);
        }

        return TS_STATUS_OK;
    }

    /*
     * Source rows in order, each through the horizontal pass once; output
     * rows [first, next) are the ones whose window has begun and not ended
     * (the windows move forward with the row, without gaps: the support is
     * at least the step), in acc slot (row % nslots).
     */

    ylo = (uint32_t) s->by[0];
    yhi = (uint32_t) (s->by[2 * (ny - 1)] + s->by[2 * (ny - 1) + 1]);
    first = 0;
    next = 0;

    for (r = ylo; r < yhi; r++) {
        row = ts_source_row(img, &p, s, r, yhi, stride, rx0);

        for ( /* void */ ; next < ny && (uint32_t) s->by[2 * next] <= r;
             next++)
        {
            ts_acc_init(s->acc + (next % nslots) * pairs, pairs);
        }

        for (j = first; j < next; j++) {
            ts_acc_add(s->acc + (j % nslots) * pairs, row, n,
                       (uint32_t) s->ky[(size_t) j * p.y.ksize
                                        + (r - s->by[2 * j])]);
        }

        while (first < next
               && (uint32_t) (s->by[2 * first] + s->by[2 * first + 1]) <= r + 1)
        {
            a = s->acc + (first % nslots) * pairs;

            ts_acc_finish(a, n, s->vline);
            ts_emit_row(&p, c, p.y.o0 + first, s->vline, lut, out);
            first++;
        }
    }

    return TS_STATUS_OK;
}


/*
 * Source row r after the horizontal pass, when there is one: rows come in
 * order, and two at a time through it while r + 1 < end is needed too
 * (the same coefficients, in the two halves of each 64-bit sum).
 */
static const uint8_t *
ts_source_row(const ts_image_t *img, const ts_plan_t *p, ts_scratch_t *s,
    uint32_t r, uint32_t end, size_t stride, uint32_t rx0)
{
    const uint8_t  *src;

    src = img->pixels + r * stride;

    if (!p->x.resample) {
        return src + (size_t) rx0 * img->channels;
    }

    if (s->line_row1 == r) {
        return s->line1;
    }

    ts_resample_lines(src, r + 1 < end ? src + stride : NULL, s->kx, s->bx,
                      p->x.ksize, p->x.o1 - p->x.o0, img->channels, s->line,
                      s->line1);

    s->line_row1 = r + 1 < end ? r + 1 : UINT32_MAX;

    return s->line;
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


/* one output row of the tensor, from the pixels of its [o0, o1) part */
static void
ts_emit_row(const ts_plan_t *p, int c, uint32_t oy, const uint8_t *row,
    float lut[3][256], float *out)
{
    int           ch;
    float        *dst, pad;
    uint32_t      i, nx;
    const float  *l;

    nx = p->x.o1 - p->x.o0;

    for (ch = 0; ch < c; ch++) {
        dst = out + ((size_t) ch * p->y.out + oy) * p->x.out;
        l = lut[ch];
        pad = l[0];

        for (i = 0; i < p->x.o0; i++) {
            dst[i] = pad;
        }

        dst += p->x.o0;

        if (c == 1) {
            for (i = 0; i < nx; i++) {
                dst[i] = l[row[i]];
            }

        } else {
            for (i = 0; i < nx; i++) {
                dst[i] = l[row[3 * i + ch]];
            }
        }

        for (i = nx; i < p->x.out - p->x.o0; i++) {
            dst[i] = pad;
        }
    }
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
 * The buffers this plan needs, grown in place, and the coefficients.
 * nslots: the most output rows whose windows are open at once, at the
 * source row where the window of row j begins: j + 1 minus the rows whose
 * windows ended before it.
 */
static int
ts_scratch_prepare(ts_scratch_t *s, const ts_plan_t *p, int c,
    uint32_t *nslots)
{
    size_t    nx, ny, kmax, line;
    uint32_t  j, f, ns;

    nx = p->x.o1 - p->x.o0;
    ny = p->y.o1 - p->y.o0;
    kmax = p->x.ksize > p->y.ksize ? p->x.ksize : p->y.ksize;
    line = nx * c;
    *nslots = 1;
    s->line_row1 = UINT32_MAX;

    if (p->x.resample
        && (ts_scratch_grow((void **) &s->kx, &s->kx_size,
                            nx * p->x.ksize * sizeof(int32_t)) != 0
            || ts_scratch_grow((void **) &s->bx, &s->bx_size,
                               nx * 2 * sizeof(int32_t)) != 0
            || ts_scratch_grow((void **) &s->line, &s->line_size, line) != 0
            || ts_scratch_grow((void **) &s->line1, &s->line1_size, line)
               != 0))
    {
        return -1;
    }

    if (p->x.resample || p->y.resample) {
        if (ts_scratch_grow((void **) &s->kd, &s->kd_size,
                            kmax * sizeof(double)) != 0)
        {
            return -1;
        }
    }

    if (p->x.resample) {
        ts_coeffs(&p->x, s->kd, s->kx, s->bx);
    }

    if (!p->y.resample) {
        return 0;
    }

    if (ts_scratch_grow((void **) &s->ky, &s->ky_size,
                        ny * p->y.ksize * sizeof(int32_t)) != 0
        || ts_scratch_grow((void **) &s->by, &s->by_size,
                           ny * 2 * sizeof(int32_t)) != 0
        || ts_scratch_grow((void **) &s->vline, &s->vline_size, line) != 0)
    {
        return -1;
    }

    ts_coeffs(&p->y, s->kd, s->ky, s->by);

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

    *nslots = ns;

    /* two values per 64-bit sum */
    if ((line + 1) / 2 > SIZE_MAX / sizeof(uint64_t) / ns) {
        return -1;
    }

    return ts_scratch_grow((void **) &s->acc, &s->acc_size,
                           (line + 1) / 2 * ns * sizeof(uint64_t));
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
    free(s->line);
    free(s->line1);
    free(s->vline);
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
