/*
 * ts_image_decode.c: what an image's first bytes say it is, the dispatch
 * to the JPEG and PNG decoders, the pixel limit, the one allocation of a
 * call, and the mode conversions of Pillow 9.4 that both decoders share.
 */

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_image_decode_int.h"


typedef struct {
    const char  *name;
    size_t       offset;
    size_t       len;
    const char  *magic;
} ts_image_magic_t;


/*
 * The prefixes Pillow's plugins accept (their _accept functions), so that
 * a refusal names what the client sent.  Read-only: shared by threads.
 */
static const ts_image_magic_t  ts_image_magics[] = {
    { "JPEG",     0, 3, "\xff\xd8\xff" },
    { "PNG",      0, 8, "\x89PNG\r\n\x1a\n" },
    { "GIF",      0, 6, "GIF87a" },
    { "GIF",      0, 6, "GIF89a" },
    { "WebP",     8, 4, "WEBP" },           /* after "RIFF" and a size */
    { "TIFF",     0, 4, "II*\0" },
    { "TIFF",     0, 4, "MM\0*" },
    { "TIFF",     0, 4, "II+\0" },          /* BigTIFF */
    { "TIFF",     0, 4, "MM\0+" },
    { "ICO",      0, 4, "\0\0\1\0" },
    { "CUR",      0, 4, "\0\0\2\0" },
    { "PSD",      0, 4, "8BPS" },
    { "JPEG2000", 0, 12, "\0\0\0\x0cjP  \r\n\x87\n" },
    { "JPEG2000", 0, 4, "\xff\x4f\xff\x51" }, /* a bare codestream */
    { "HEIF",     4, 8, "ftypheic" },
    { "HEIF",     4, 8, "ftypheix" },
    { "HEIF",     4, 8, "ftypmif1" },
    { "AVIF",     4, 8, "ftypavif" },
    { "ICNS",     0, 4, "icns" },
    { "DDS",      0, 4, "DDS " },
    { "QOI",      0, 4, "qoif" },
    { "EPS",      0, 4, "%!PS" },
    { "EPS",      0, 4, "\xc5\xd0\xd3\xc6" },
    { "BMP",      0, 2, "BM" },
    { NULL, 0, 0, NULL }
};


const char *
ts_image_format(const unsigned char *data, size_t len)
{
    const ts_image_magic_t  *m;

    if (data == NULL) {
        return NULL;
    }

    for (m = ts_image_magics; m->name != NULL; m++) {
        if (len >= m->offset + m->len
            && memcmp(data + m->offset, m->magic, m->len) == 0)
        {
            if (m->offset == 8 && memcmp(data, "RIFF", 4) != 0) {
                continue;
            }

            return m->name;
        }
    }

    /* Netpbm, as Pillow's PpmImagePlugin: "P1" to "P6", then a space */
    if (len >= 3 && data[0] == 'P' && data[1] >= '1' && data[1] <= '6'
        && (data[2] == ' ' || data[2] == '\t' || data[2] == '\n'
            || data[2] == '\r'))
    {
        return "PPM";
    }

    return NULL;
}


ts_status_e
ts_image_decode(const unsigned char *data, size_t len,
    const ts_image_decode_options_t *options, ts_image_t *img, char *err,
    size_t errlen)
{
    const char          *format;
    ts_status_e          rc;
    ts_image_decoder_t   d;

    memset(img, 0, sizeof(ts_image_t));

    d.channels = options->channels;
    d.max_pixels = options->max_pixels;
    d.img = img;
    d.err = err;
    d.errlen = errlen;

    if (d.channels != 1 && d.channels != 3) {
        ts_image_decode_error(&d, "images decode to 1 or 3 channels, not %d",
                              d.channels);
        return TS_STATUS_INTERNAL;
    }

    if (data == NULL || len == 0) {
        ts_image_decode_error(&d, "empty image data");
        return TS_STATUS_BAD_INPUT;
    }

    format = ts_image_format(data, len);

    if (format == NULL) {
        ts_image_decode_error(&d, "unknown image format (%zu bytes): send "
                              "JPEG or PNG", len);
        return TS_STATUS_BAD_INPUT;
    }

    if (strcmp(format, "JPEG") == 0) {
        rc = ts_image_decode_jpeg(&d, data, len);

    } else if (strcmp(format, "PNG") == 0) {
        rc = ts_image_decode_png(&d, data, len);

    } else {
        ts_image_decode_error(&d, "%s images are not supported: send JPEG "
                              "or PNG", format);
        return TS_STATUS_BAD_INPUT;
    }

    if (rc != TS_STATUS_OK) {
        ts_image_free(img);
    }

    return rc;
}


void
ts_image_free(ts_image_t *img)
{
    if (img == NULL) {
        return;
    }

    free(img->pixels);
    memset(img, 0, sizeof(ts_image_t));
}


void
ts_image_decode_error(ts_image_decoder_t *d, const char *fmt, ...)
{
    va_list  args;

    if (d->err == NULL || d->errlen == 0) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(d->err, d->errlen, fmt, args);
    va_end(args);
}


ts_status_e
ts_image_decode_check_size(ts_image_decoder_t *d, uint32_t width,
    uint32_t height)
{
    uint64_t  pixels;

    pixels = (uint64_t) width * height;

    if (pixels == 0) {
        ts_image_decode_error(d, "image of %ux%u pixels is empty",
                              width, height);
        return TS_STATUS_BAD_INPUT;
    }

    if (d->max_pixels != 0 && pixels > d->max_pixels) {
        ts_image_decode_error(d, "image of %ux%u pixels exceeds the limit "
                              "of %llu pixels", width, height,
                              (unsigned long long) d->max_pixels);
        return TS_STATUS_BAD_INPUT;
    }

    /* 8 bytes a pixel (16-bit RGBA): the widest row a library hands us */
    if (pixels > SIZE_MAX / 8) {
        ts_image_decode_error(d, "image of %ux%u pixels is too large",
                              width, height);
        return TS_STATUS_BAD_INPUT;
    }

    return TS_STATUS_OK;
}


ts_status_e
ts_image_decode_alloc(ts_image_decoder_t *d, uint32_t width,
    uint32_t height, size_t scratch, uint8_t **scratch_out)
{
    size_t       size;
    ts_status_e  rc;

    rc = ts_image_decode_check_size(d, width, height);
    if (rc != TS_STATUS_OK) {
        return rc;
    }

    size = (size_t) width * height * (size_t) d->channels;

    if (scratch > SIZE_MAX - size) {
        ts_image_decode_error(d, "image of %ux%u pixels is too large",
                              width, height);
        return TS_STATUS_BAD_INPUT;
    }

    d->img->pixels = malloc(size + scratch);
    if (d->img->pixels == NULL) {
        ts_image_decode_error(d, "out of memory for an image of %ux%u "
                              "pixels", width, height);
        return TS_STATUS_NO_RESOURCES;
    }

    d->img->width = width;
    d->img->height = height;
    d->img->channels = d->channels;

    if (scratch_out != NULL) {
        *scratch_out = scratch ? d->img->pixels + size : NULL;
    }

    return TS_STATUS_OK;
}


void
ts_image_row_from_l(uint8_t *out, const uint8_t *in, uint32_t width,
    int channels)
{
    uint32_t  x;

    if (channels == 1) {
        memmove(out, in, width);
        return;
    }

    for (x = 0; x < width; x++) {
        out[0] = out[1] = out[2] = in[x];
        out += 3;
    }
}


void
ts_image_row_from_rgb(uint8_t *out, const uint8_t *in, uint32_t width,
    int stride, int channels)
{
    uint32_t  x;

    if (channels == 1) {
        for (x = 0; x < width; x++) {
            out[x] = ts_image_l24(in[0], in[1], in[2]);
            in += stride;
        }

        return;
    }

    if (stride == 3) {
        memmove(out, in, (size_t) width * 3);
        return;
    }

    /* rgba2rgb: the alpha is dropped, nothing is composited */
    for (x = 0; x < width; x++) {
        out[0] = in[0];
        out[1] = in[1];
        out[2] = in[2];
        out += 3;
        in += stride;
    }
}


void
ts_image_row_from_cmyk_inverted(uint8_t *out, const uint8_t *in,
    uint32_t width, int channels)
{
    unsigned  c, m, y, nk, t, r, g, b;
    uint32_t  x;

    for (x = 0; x < width; x++, in += 4) {

        /* unpackCMYKI: Pillow's pixel is the complement of libjpeg's */
        c = 255 - in[0];
        m = 255 - in[1];
        y = 255 - in[2];
        nk = in[3];              /* 255 - k, k = 255 - in[3] */

        /* cmyk2rgb: nk - MULDIV255(c, nk), never out of 0..255 here */
        t = c * nk + 128;
        r = nk - (((t >> 8) + t) >> 8);
        t = m * nk + 128;
        g = nk - (((t >> 8) + t) >> 8);
        t = y * nk + 128;
        b = nk - (((t >> 8) + t) >> 8);

        if (channels == 1) {
            *out++ = ts_image_l24(r, g, b);

        } else {
            out[0] = (uint8_t) r;
            out[1] = (uint8_t) g;
            out[2] = (uint8_t) b;
            out += 3;
        }
    }
}
