/*
 * ts_image_transform_int.h: what ts_image_transform.c shares with its
 * coefficients and per-thread scratch (ts_image_transform_scratch.c) and
 * its AVX2 passes (ts_image_transform_avx2.c).
 */

#ifndef TS_IMAGE_TRANSFORM_INT_H
#define TS_IMAGE_TRANSFORM_INT_H

#include <stddef.h>
#include <stdint.h>

#include "ts_image.h"

/* -DTS_IMAGE_NO_SIMD: the portable C alone, as on other processors */
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)           \
    && !defined(TS_IMAGE_NO_SIMD)
#define TS_HAVE_AVX2  1
#include <immintrin.h>
#else
#define TS_HAVE_AVX2  0
#endif


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


/* the calling thread's scratch (NULL: no memory) */
ts_scratch_t *ts_scratch_get(void);

/* s grown for plan p and img, its coefficients made, for SIMD level
 * simd (TS_IMAGE_SIMD_*); 0, or -1 when memory runs out */
int ts_scratch_prepare(ts_scratch_t *s, const ts_plan_t *p,
    const ts_image_t *img, int simd);

#if (TS_HAVE_AVX2)
void ts_resample_lines3_avx2(const uint8_t *src0,
    const uint8_t *src1, const uint32_t *kp, const int32_t *starts, int m,
    uint32_t n, uint8_t *dst0, uint8_t *dst1);
void ts_resample_vertical_avx2(const uint8_t **rows,
    const int32_t *k, const uint32_t *kp, int np, int len, size_t n,
    uint8_t *dst);
#endif

#endif /* TS_IMAGE_TRANSFORM_INT_H */
