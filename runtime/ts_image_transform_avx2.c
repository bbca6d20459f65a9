/*
 * ts_image_transform_avx2.c: the transform's two resampling passes with
 * AVX2, chosen at run time by ts_image_transform.c (target attributes:
 * the file builds for any x86-64); exactly the portable passes' sums.
 */

#include <stdint.h>
#include <string.h>

#include "ts_image_transform_int.h"


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
void
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
void
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
