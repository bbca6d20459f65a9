/*
 * ts_image_decode_png.c: PNG with libspng, to the pixels of Pillow 9.4's
 * PNG plugin (src/PIL/PngImagePlugin.py, its _MODES and rawmodes) after
 * convert("RGB") or convert("L") (src/libImaging/Unpack.c, Convert.c):
 *
 *   grey 1 bit      "1": 0 or 255
 *   grey 2, 4 bits  "L": scaled, * 0x55 and * 0x11
 *   grey 8 bits     "L"
 *   grey 16 bits    "I": the 16-bit value, clipped to 255 by i2l / i2rgb
 *   grey+alpha 8    "LA": the grey (la2l, la2rgb)
 *   grey+alpha 16   "RGBA" from "LA;16B": the grey's high byte
 *   RGB 8, 16       "RGB": the high byte of 16-bit samples
 *   RGBA 8, 16      "RGBA": the alpha dropped, nothing composited
 *   palette         "P": a 256-entry grey ramp with PLTE's colours over
 *                   its first entries (ImagingPaletteNew, _putpalette)
 *
 * "L" from colour is rgb2l's fixed point (p2l for palettes, the same on
 * the entry's colour).  No gamma, no tRNS: Pillow applies neither to RGB
 * or L.  libspng hands us each row raw (SPNG_FMT_RAW, big-endian), an
 * interlaced image's rows pass by pass, and we convert it into place.
 */

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <spng.h>

#include "ts_image_decode_int.h"


/*
 * a compressed ancillary chunk (iCCP, zTXt, iTXt) inflates to no more:
 * Pillow's MAX_TEXT_CHUNK (ImageFile.SAFEBLOCK), past which it refuses
 * the file ("Decompressed Data Too Large")
 */
#define TS_IMAGE_PNG_CHUNK_MAX   (1024 * 1024)

/* all the ancillary chunks libspng keeps, together */
#define TS_IMAGE_PNG_CACHE_MAX   (16 * 1024 * 1024)

/*
 * and how many: libspng's default (SPNG_MAX_CHUNK_COUNT), for 0.7.3's
 * spng_set_option(SPNG_CHUNK_COUNT_LIMIT) refuses any value above the
 * count of chunks already read, so it cannot be set before reading
 */
#define TS_IMAGE_PNG_CHUNKS_MAX  1000

/* the PNG specification's largest width or height */
#define TS_IMAGE_PNG_MAX_SIDE    0x7fffffffU


typedef struct {
    const unsigned char  *data;     /* the file, for the error messages */
    size_t                len;
    struct spng_ihdr      ihdr;
    int                   channels;
    uint8_t               palette[256 * 3];
} ts_image_png_t;


/* Adam7: where each pass's pixels start in a row, and their spacing */
static const uint32_t  ts_image_png_x0[7] = { 0, 4, 0, 2, 0, 1, 0 };
static const uint32_t  ts_image_png_dx[7] = { 8, 8, 4, 4, 2, 2, 1 };


static ts_status_e ts_image_png_run(ts_image_decoder_t *d, spng_ctx *ctx,
    const unsigned char *data, size_t len);
static ts_status_e ts_image_png_rows(ts_image_decoder_t *d, spng_ctx *ctx,
    const ts_image_png_t *p, uint8_t *raw, size_t raw_size);
static void ts_image_png_palette(ts_image_png_t *p,
    const struct spng_plte *plte);
static void ts_image_png_row(const ts_image_png_t *p, uint8_t *out,
    const uint8_t *in, uint32_t x0, uint32_t dx);
static ts_status_e ts_image_png_error(ts_image_decoder_t *d, int ret,
    const unsigned char *data, size_t len);
static const char *ts_image_png_bad_crc(const unsigned char *data, size_t len,
    char *type);
static uint32_t ts_image_png_crc(uint32_t crc, const unsigned char *p,
    size_t n);
static uint32_t ts_image_png_u32(const unsigned char *p);


ts_status_e
ts_image_decode_png(ts_image_decoder_t *d, const unsigned char *data,
    size_t len)
{
    spng_ctx     *ctx;
    ts_status_e   rc;

    ctx = spng_ctx_new(0);
    if (ctx == NULL) {
        ts_image_decode_error(d, "PNG: out of memory");
        return TS_STATUS_NO_RESOURCES;
    }

    rc = ts_image_png_run(d, ctx, data, len);

    spng_ctx_free(ctx);

    return rc;
}


static ts_status_e
ts_image_png_run(ts_image_decoder_t *d, spng_ctx *ctx,
    const unsigned char *data, size_t len)
{
    int                ret, samples;
    size_t             raw_size;
    uint8_t           *raw;
    uint32_t           side;
    ts_status_e        rc;
    ts_image_png_t     p;
    struct spng_plte   plte;

    memset(&p, 0, sizeof(ts_image_png_t));
    p.data = data;
    p.len = len;
    p.channels = d->channels;

    /*
     * A bad CRC is an error in every chunk, ancillary ones too (libspng
     * would drop those silently); Pillow refuses one before the first
     * IDAT but does not check IDAT's own (see the report in t/images).
     */
    side = TS_IMAGE_PNG_MAX_SIDE;
    if (d->max_pixels != 0 && d->max_pixels < side) {
        side = (uint32_t) d->max_pixels;
    }

    ret = spng_set_crc_action(ctx, SPNG_CRC_ERROR, SPNG_CRC_ERROR);
    if (ret == 0) {
        ret = spng_set_chunk_limits(ctx, TS_IMAGE_PNG_CHUNK_MAX,
                                    TS_IMAGE_PNG_CACHE_MAX);
    }

    if (ret == 0) {
        ret = spng_set_image_limits(ctx, side, side);
    }

    if (ret == 0) {
        ret = spng_set_png_buffer(ctx, data, len);
    }

    if (ret == 0) {
        ret = spng_get_ihdr(ctx, &p.ihdr);
    }

    if (ret != 0) {
        return ts_image_png_error(d, ret, data, len);
    }

    rc = ts_image_decode_check_size(d, p.ihdr.width, p.ihdr.height);
    if (rc != TS_STATUS_OK) {
        return rc;
    }

    if (p.ihdr.color_type == SPNG_COLOR_TYPE_INDEXED) {
        /* reads every chunk before the first IDAT */
        ret = spng_get_plte(ctx, &plte);
        if (ret != 0) {
            return ts_image_png_error(d, ret, data, len);
        }

        ts_image_png_palette(&p, &plte);
    }

    switch (p.ihdr.color_type) {
    case SPNG_COLOR_TYPE_GRAYSCALE:
    case SPNG_COLOR_TYPE_INDEXED:
        samples = 1;
        break;
    case SPNG_COLOR_TYPE_GRAYSCALE_ALPHA:
        samples = 2;
        break;
    case SPNG_COLOR_TYPE_TRUECOLOR:
        samples = 3;
        break;
    default:
        samples = 4;
        break;
    }

    /* fits: check_size keeps width * 8 in a size_t */
    raw_size = ((size_t) p.ihdr.width * samples * p.ihdr.bit_depth + 7) / 8;

    rc = ts_image_decode_alloc(d, p.ihdr.width, p.ihdr.height, raw_size, &raw);
    if (rc != TS_STATUS_OK) {
        return rc;
    }

    ret = spng_decode_image(ctx, NULL, 0, SPNG_FMT_RAW,
                            SPNG_DECODE_PROGRESSIVE);
    if (ret != 0) {
        return ts_image_png_error(d, ret, data, len);
    }

    return ts_image_png_rows(d, ctx, &p, raw, raw_size);
}


static ts_status_e
ts_image_png_rows(ts_image_decoder_t *d, spng_ctx *ctx,
    const ts_image_png_t *p, uint8_t *raw, size_t raw_size)
{
    int                    ret;
    size_t                 stride;
    uint32_t               x0, dx;
    struct spng_row_info   ri;

    stride = (size_t) p->ihdr.width * p->channels;

    for ( ;; ) {
        ret = spng_get_row_info(ctx, &ri);
        if (ret == SPNG_EOI) {
            return TS_STATUS_OK;
        }

        if (ret != 0 || ri.row_num >= p->ihdr.height || ri.pass < 0
            || ri.pass > 6)
        {
            ts_image_decode_error(d, "PNG: no row information (%s)",
                                  spng_strerror(ret));
            return TS_STATUS_INTERNAL;
        }

        x0 = 0;
        dx = 1;

        if (p->ihdr.interlace_method != 0) {
            x0 = ts_image_png_x0[ri.pass];
            dx = ts_image_png_dx[ri.pass];

            /* a pass's samples of less than a byte are OR'ed into place */
            if (p->ihdr.bit_depth < 8) {
                memset(raw, 0, raw_size);
            }
        }

        ret = spng_decode_row(ctx, raw, raw_size);
        if (ret != 0 && ret != SPNG_EOI) {
            return ts_image_png_error(d, ret, p->data, p->len);
        }

        ts_image_png_row(p, d->img->pixels + ri.row_num * stride, raw, x0,
                         dx);

        if (ret == SPNG_EOI) {
            return TS_STATUS_OK;
        }
    }
}


static void
ts_image_png_palette(ts_image_png_t *p, const struct spng_plte *plte)
{
    uint32_t  i;

    for (i = 0; i < 256; i++) {
        p->palette[i * 3] = p->palette[i * 3 + 1] = p->palette[i * 3 + 2]
            = (uint8_t) i;
    }

    for (i = 0; i < plte->n_entries && i < 256; i++) {
        p->palette[i * 3] = plte->entries[i].red;
        p->palette[i * 3 + 1] = plte->entries[i].green;
        p->palette[i * 3 + 2] = plte->entries[i].blue;
    }
}


static inline void
ts_image_png_put_l(uint8_t *out, uint32_t x, int channels, unsigned v)
{
    if (channels == 1) {
        out[x] = (uint8_t) v;

    } else {
        out[x * 3] = out[x * 3 + 1] = out[x * 3 + 2] = (uint8_t) v;
    }
}


static inline void
ts_image_png_put_rgb(uint8_t *out, uint32_t x, int channels, unsigned r,
    unsigned g, unsigned b)
{
    if (channels == 1) {
        out[x] = ts_image_l24(r, g, b);

    } else {
        out[x * 3] = (uint8_t) r;
        out[x * 3 + 1] = (uint8_t) g;
        out[x * 3 + 2] = (uint8_t) b;
    }
}


/* a sample of bits < 8 at x, most significant first */
static inline unsigned
ts_image_png_bits(const uint8_t *in, uint32_t x, unsigned bits)
{
    size_t    bit;

    bit = (size_t) x * bits;

    return (in[bit >> 3] >> (8 - bits - (bit & 7))) & ((1U << bits) - 1);
}


static void
ts_image_png_row(const ts_image_png_t *p, uint8_t *out, const uint8_t *in,
    uint32_t x0, uint32_t dx)
{
    int             ch;
    unsigned        v, bits;
    uint32_t        x, w;
    const uint8_t  *s, *rgb;

    w = p->ihdr.width;
    ch = p->channels;
    bits = p->ihdr.bit_depth;

    switch (p->ihdr.color_type) {

    case SPNG_COLOR_TYPE_GRAYSCALE:
        for (x = x0; x < w; x += dx) {
            if (bits == 16) {
                /* mode "I", then clipped */
                v = in[2 * x] ? 255 : in[2 * x + 1];

            } else if (bits == 8) {
                v = in[x];

            } else {
                v = ts_image_png_bits(in, x, bits);
                v = (bits == 1) ? (v ? 255 : 0)
                                : (bits == 2) ? v * 0x55 : v * 0x11;
            }

            ts_image_png_put_l(out, x, ch, v);
        }

        break;

    case SPNG_COLOR_TYPE_GRAYSCALE_ALPHA:
        for (x = x0; x < w; x += dx) {
            v = (bits == 16) ? in[4 * (size_t) x] : in[2 * (size_t) x];
            ts_image_png_put_l(out, x, ch, v);
        }

        break;

    case SPNG_COLOR_TYPE_INDEXED:
        for (x = x0; x < w; x += dx) {
            v = (bits == 8) ? in[x] : ts_image_png_bits(in, x, bits);
            rgb = &p->palette[v * 3];
            ts_image_png_put_rgb(out, x, ch, rgb[0], rgb[1], rgb[2]);
        }

        break;

    case SPNG_COLOR_TYPE_TRUECOLOR:
    case SPNG_COLOR_TYPE_TRUECOLOR_ALPHA:
    default:
        v = (p->ihdr.color_type == SPNG_COLOR_TYPE_TRUECOLOR) ? 3 : 4;
        v *= bits / 8;                  /* bytes a pixel */

        for (x = x0; x < w; x += dx) {
            s = in + (size_t) x * v;

            if (bits == 16) {
                ts_image_png_put_rgb(out, x, ch, s[0], s[2], s[4]);

            } else {
                ts_image_png_put_rgb(out, x, ch, s[0], s[1], s[2]);
            }
        }

        break;
    }
}


/* data: the file, to name the chunk whose CRC is wrong (NULL: unknown) */

static ts_status_e
ts_image_png_error(ts_image_decoder_t *d, int ret, const unsigned char *data,
    size_t len)
{
    char         type[5];
    uint32_t     w, h;
    const char  *bad;

    switch (ret) {

    case SPNG_EMEM:
        ts_image_decode_error(d, "PNG: out of memory");
        return TS_STATUS_NO_RESOURCES;

    case SPNG_ECHUNK_CRC:
        bad = (data != NULL) ? ts_image_png_bad_crc(data, len, type) : NULL;

        if (bad != NULL) {
            ts_image_decode_error(d, "PNG: CRC error in chunk %s", bad);

        } else {
            ts_image_decode_error(d, "PNG: CRC error in a chunk");
        }

        return TS_STATUS_BAD_INPUT;

    case SPNG_IO_EOF:           /* the buffer ends inside a chunk */
    case SPNG_EOF:
    case SPNG_EIDAT_TOO_SHORT:  /* the chunks after IDAT came too early */
        ts_image_decode_error(d, "PNG: premature end of data "
                              "(truncated image)");
        return TS_STATUS_BAD_INPUT;

    case SPNG_EUSER_WIDTH:
    case SPNG_EUSER_HEIGHT:
        /* a side past the pixel limit on its own; IHDR is the first chunk */
        if (data != NULL && len >= 24) {
            w = ts_image_png_u32(data + 16);
            h = ts_image_png_u32(data + 20);

            ts_image_decode_error(d, "image of %ux%u pixels exceeds the "
                                  "limit of %llu pixels", w, h,
                                  (unsigned long long) d->max_pixels);
            return TS_STATUS_BAD_INPUT;
        }

        break;

    case SPNG_ECHUNK_LIMITS:
        ts_image_decode_error(d, "PNG: metadata chunks past the limits "
                              "(%d MB inflated for one, %d MB in all, %d "
                              "chunks)", TS_IMAGE_PNG_CHUNK_MAX >> 20,
                              TS_IMAGE_PNG_CACHE_MAX >> 20,
                              TS_IMAGE_PNG_CHUNKS_MAX);
        return TS_STATUS_BAD_INPUT;

    default:
        break;
    }

    ts_image_decode_error(d, "PNG: corrupt or unsupported image: %s",
                          spng_strerror(ret));

    return TS_STATUS_BAD_INPUT;
}


/*
 * libspng does not say which chunk failed its check: walk the chunks,
 * on this error path only, to the first whose CRC does not match.
 */
static const char *
ts_image_png_bad_crc(const unsigned char *data, size_t len, char *type)
{
    size_t    off;
    uint32_t  n, crc;

    off = 8;

    while (len >= 12 && off <= len - 12) {
        n = ts_image_png_u32(data + off);

        if (n > len - off - 12) {
            return NULL;
        }

        crc = ts_image_png_crc(0xffffffff, data + off + 4, (size_t) n + 4);

        if ((crc ^ 0xffffffff) != ts_image_png_u32(data + off + 8 + n)) {
            memcpy(type, data + off + 4, 4);
            type[4] = '\0';

            for (n = 0; n < 4; n++) {
                if (type[n] < 0x20 || type[n] > 0x7e) {
                    type[n] = '?';
                }
            }

            return type;
        }

        off += (size_t) n + 12;
    }

    return NULL;
}


/* the PNG CRC-32, four bits at a time: small and const */
static uint32_t
ts_image_png_crc(uint32_t crc, const unsigned char *p, size_t n)
{
    static const uint32_t  t[16] = {
        0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac,
        0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
        0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
        0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c
    };

    while (n--) {
        crc ^= *p++;
        crc = (crc >> 4) ^ t[crc & 15];
        crc = (crc >> 4) ^ t[crc & 15];
    }

    return crc;
}


static uint32_t
ts_image_png_u32(const unsigned char *p)
{
    return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16)
           | ((uint32_t) p[2] << 8) | p[3];
}
