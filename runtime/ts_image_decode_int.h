/*
 * ts_image_decode_int.h: what the decoder's files share, private to
 * ts_image_decode.c (format sniffing, dispatch, limits, the pixel buffer
 * and Pillow's mode conversions), ts_image_decode_jpeg.c (libjpeg-turbo)
 * and ts_image_decode_png.c (libspng).
 */

#ifndef TS_IMAGE_DECODE_INT_H
#define TS_IMAGE_DECODE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "ts_image.h"


/* one ts_image_decode call */
typedef struct {
    int          channels;      /* of the output: 1 or 3 */
    uint64_t     max_pixels;    /* 0: no limit */
    ts_image_t  *img;
    char        *err;
    size_t       errlen;
} ts_image_decoder_t;


void ts_image_decode_error(ts_image_decoder_t *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Refuses width x height above the pixel limit, or whose bytes do not fit
 * in memory, before the libraries allocate anything of the image's size.
 */
ts_status_e ts_image_decode_check_size(ts_image_decoder_t *d, uint32_t width,
    uint32_t height);

/*
 * Allocates d->img's pixels, and "scratch" bytes after them for a row the
 * library decodes before we convert it (*scratch, when scratch > 0): one
 * allocation per call.
 */
ts_status_e ts_image_decode_alloc(ts_image_decoder_t *d, uint32_t width,
    uint32_t height, size_t scratch, uint8_t **scratch_out);


/*
 * Pillow 9.4's conversions (src/libImaging/Convert.c) of one row of
 * width pixels to "L" (channels 1) or "RGB" (channels 3).
 */

/* ITU-R 601-2 luma in Pillow's 16-bit fixed point, L24() >> 16 */
static inline uint8_t
ts_image_l24(unsigned r, unsigned g, unsigned b)
{
    return (uint8_t) ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
}

/* mode "L": l2rgb, or a copy */
void ts_image_row_from_l(uint8_t *out, const uint8_t *in, uint32_t width,
    int channels);

/* mode "RGB" (in: stride bytes a pixel, RGB first): a copy, or rgb2l */
void ts_image_row_from_rgb(uint8_t *out, const uint8_t *in, uint32_t width,
    int stride, int channels);

/*
 * libjpeg's CMYK as Pillow reads it ("CMYK;I": Adobe's inverted
 * polarity), then cmyk2rgb, and rgb2l of that for "L"
 */
void ts_image_row_from_cmyk_inverted(uint8_t *out, const uint8_t *in,
    uint32_t width, int channels);


ts_status_e ts_image_decode_jpeg(ts_image_decoder_t *d,
    const unsigned char *data, size_t len);
ts_status_e ts_image_decode_png(ts_image_decoder_t *d,
    const unsigned char *data, size_t len);

#endif /* TS_IMAGE_DECODE_INT_H */
