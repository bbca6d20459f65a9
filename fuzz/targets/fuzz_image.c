/*
 * fuzz_image.c: libFuzzer target for the image decoders (ts_image_decode:
 * JPEG with libjpeg-turbo, PNG with libspng, runtime/ts_image_decode*.c)
 * and the vision transform run on what they decode (ts_image_transform,
 * runtime/ts_image_transform*.c).
 *
 * One input is an image file; its length's parity picks the output mode
 * (odd: "L", even: "RGB").  A PNG refused for a bad CRC is decoded once
 * more with its CRCs made right, or mutations would seldom get past the
 * first chunk.  What decodes goes through four fixed transforms (the
 * operator's configuration, not the client's): a shorter-side Resize,
 * CenterCrop and Normalize; an exact Resize; a CenterCrop larger than the
 * image (padding); a wide upscale, cropped.  Checks: the decoded image
 * has the size the decoder says, within the pixel limit; the transforms
 * write exactly ts_image_output_size's floats (the buffer is that size).
 */

#include "ts_image.h"

#include "fuzz_util.h"


/* small, so that a header's claimed size costs little to decode */
#define FUZZ_IMAGE_MAX_PIXELS  (1 << 18)


/* resize_short, resize_w, resize_h, crop_w, crop_h, normalize, mean, std */
static const ts_image_transform_t  fuzz_transforms[] = {
    { 7, 0, 0, 5, 5, 1, { 0.485f, 0.456f, 0.406f },
      { 0.229f, 0.224f, 0.225f } },
    { 0, 3, 11, 0, 0, 0, { 0, 0, 0 }, { 1, 1, 1 } },
    { 0, 0, 0, 19, 23, 0, { 0, 0, 0 }, { 1, 1, 1 } },
    { 0, 40, 2, 41, 1, 1, { 0.5f, 0.5f, 0.5f }, { 0.25f, 0.5f, 2 } },
};


static uint32_t
fuzz_png_u32(const uint8_t *p)
{
    return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16)
           | ((uint32_t) p[2] << 8) | p[3];
}


static uint32_t
fuzz_crc32(const uint8_t *p, size_t n)
{
    int       k;
    uint32_t  crc;

    crc = 0xffffffff;

    while (n--) {
        crc ^= *p++;
        for (k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (0xedb88320 & (0 - (crc & 1)));
        }
    }

    return crc ^ 0xffffffff;
}


/* a copy of the PNG data[0..size) with every whole chunk's CRC right */
static uint8_t *
fuzz_png_fix_crcs(const uint8_t *data, size_t size)
{
    size_t    off;
    uint32_t  n, crc;
    uint8_t  *png;

    png = fuzz_copy(data, size);
    if (png == NULL) {
        return NULL;
    }

    for (off = 8; size >= 12 && off <= size - 12; off += (size_t) n + 12) {
        n = fuzz_png_u32(png + off);

        if (n > size - off - 12) {
            break;
        }

        crc = fuzz_crc32(png + off + 4, (size_t) n + 4);

        png[off + 8 + n] = (uint8_t) (crc >> 24);
        png[off + 9 + n] = (uint8_t) (crc >> 16);
        png[off + 10 + n] = (uint8_t) (crc >> 8);
        png[off + 11 + n] = (uint8_t) crc;
    }

    return png;
}


static void
fuzz_transform(const ts_image_t *img)
{
    char         err[256];
    float       *out;
    size_t       i;
    uint32_t     w, h;
    ts_status_e  rc;

    for (i = 0; i < sizeof(fuzz_transforms) / sizeof(fuzz_transforms[0]);
         i++)
    {
        ts_image_output_size(&fuzz_transforms[i], img->width, img->height,
                             &w, &h);
        if (w == 0 || h == 0) {
            continue;
        }

        out = malloc((size_t) img->channels * w * h * sizeof(float));
        if (out == NULL) {
            continue;
        }

        rc = ts_image_transform(img, &fuzz_transforms[i], out, err,
                                sizeof(err));

        FUZZ_CHECK(rc == TS_STATUS_OK || rc == TS_STATUS_NO_RESOURCES,
                   "transform %zu of %ux%u refused: %s", i, img->width,
                   img->height, err);

        free(out);
    }
}


static ts_status_e
fuzz_decode(const uint8_t *data, size_t size,
    const ts_image_decode_options_t *opt, char *err, size_t errlen)
{
    ts_image_t   img;
    ts_status_e  rc;

    err[0] = '\0';
    rc = ts_image_decode(data, size, opt, &img, err, errlen);

    if (rc != TS_STATUS_OK) {
        FUZZ_CHECK(img.pixels == NULL && img.width == 0 && img.height == 0,
                   "a refused image keeps its pixels");
        FUZZ_CHECK(err[0] != '\0', "a refusal without a message");
        FUZZ_CHECK(rc == TS_STATUS_BAD_INPUT || rc == TS_STATUS_NO_RESOURCES,
                   "status %d: %s", (int) rc, err);
        return rc;
    }

    FUZZ_CHECK(img.pixels != NULL && img.width > 0 && img.height > 0
               && (uint64_t) img.width * img.height <= opt->max_pixels
               && img.channels == opt->channels,
               "decoded %ux%ux%d", img.width, img.height, img.channels);

    /* every byte written (MemorySanitizer would say so; ASan: readable) */
    (void) ((volatile uint8_t *) img.pixels)[(size_t) img.width * img.height
                                             * img.channels - 1];

    fuzz_transform(&img);
    ts_image_free(&img);

    return rc;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                        err[512];
    uint8_t                    *png;
    const char                 *format;
    ts_status_e                 rc;
    ts_image_decode_options_t   opt;

    format = ts_image_format(data, size);

    opt.channels = (size & 1) ? 1 : 3;
    opt.max_pixels = FUZZ_IMAGE_MAX_PIXELS;

    rc = fuzz_decode(data, size, &opt, err, sizeof(err));

    if (rc == TS_STATUS_BAD_INPUT && format != NULL
        && strcmp(format, "PNG") == 0 && strstr(err, "CRC error") != NULL)
    {
        png = fuzz_png_fix_crcs(data, size);
        if (png != NULL) {
            (void) fuzz_decode(png, size, &opt, err, sizeof(err));
            free(png);
        }
    }

    return 0;
}
