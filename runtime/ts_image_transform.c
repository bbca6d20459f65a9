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
 * (chosen at run time) both passes run 8 such lanes at once
 * (ts_image_transform_avx2.c); elsewhere, or without AVX2, the portable
 * C below.  The coefficients and the per-thread scratch are in
 * ts_image_transform_scratch.c.
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
#include "ts_image_int.h"
#include "ts_image_transform_int.h"




static ts_status_e ts_image_plan(const ts_image_transform_t *t, uint32_t w,
    uint32_t h, ts_plan_t *p, char *err, size_t errlen);
static ts_status_e ts_axis_resize_check(ts_axis_t *ax, char *err,
    size_t errlen);
static void ts_axis_crop(ts_axis_t *ax, uint32_t crop);
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
static void ts_simd_init(void);
static void ts_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));




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
    if (s == NULL || ts_scratch_prepare(s, &p, img, ts_simd_use) != 0) {
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
