/*
 * ts_image.h: images for the vision handlers, without Python.
 *
 * Decoding (ts_image_decode*.c): JPEG with libjpeg-turbo and PNG with
 * libspng, to the 8-bit pixels Pillow 9.4 gives for the same file after
 * convert("RGB") or convert("L") (the same decoder settings, the same mode
 * conversions), refusing what Pillow's decompression-bomb guard refuses
 * before any large allocation.
 *
 * Transforming (ts_image_transform.c): torchvision 0.14's Resize (Pillow's
 * antialiased bilinear, its fixed-point rounding), CenterCrop (its rounding
 * and zero padding), ToTensor and Normalize, bit-exact with them on a PIL
 * image, in one pass from the decoded pixels to the float tensor: only the
 * cropped part of the resized image is computed.
 *
 * No nginx, no C++; safe to call from several threads at once.
 */

#ifndef TS_IMAGE_H
#define TS_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "ts_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Pillow's Image.MAX_IMAGE_PIXELS */
#define TS_IMAGE_MAX_PIXELS  89478485


typedef struct {
    uint32_t   width;
    uint32_t   height;
    int        channels;      /* 1: Pillow's "L", 3: "RGB" */
    uint8_t   *pixels;        /* malloc'd, height rows of width * channels */
} ts_image_t;


typedef struct {
    int        channels;      /* 3: convert("RGB"), 1: convert("L") */
    uint64_t   max_pixels;    /* width * height above it: refused; 0: none */
} ts_image_decode_options_t;


/*
 * The format's name from the first bytes ("JPEG", "PNG", "GIF", "BMP",
 * "WebP", "TIFF", ...), or NULL when nothing known matches.
 */
const char *ts_image_format(const unsigned char *data, size_t len);

/*
 * Decodes a JPEG or PNG file into img (pixels malloc'd; free with
 * ts_image_free).  TS_STATUS_OK; TS_STATUS_BAD_INPUT with a message that
 * names the problem (another format, truncated, corrupt, too many pixels);
 * TS_STATUS_NO_RESOURCES when memory runs out.  img is empty on failure.
 */
ts_status_e ts_image_decode(const unsigned char *data, size_t len,
    const ts_image_decode_options_t *options, ts_image_t *img, char *err,
    size_t errlen);

void ts_image_free(ts_image_t *img);


typedef struct {
    /* Resize: the shorter side to resize_short, or exactly resize_w x
     * resize_h; all 0: no Resize */
    uint32_t   resize_short;
    uint32_t   resize_w;
    uint32_t   resize_h;

    /* CenterCrop to crop_w x crop_h (padded with 0 when larger); 0: none */
    uint32_t   crop_w;
    uint32_t   crop_h;

    /* Normalize after ToTensor, per channel; 0: ToTensor's [0, 1] only */
    int        normalize;
    float      mean[3];
    float      std[3];
} ts_image_transform_t;


/*
 * the tensor's width and height after t, for an image of w x h; 0 x 0 when
 * ts_image_transform refuses t for that size (Resize or CenterCrop to 0,
 * sizes beyond Pillow's C ints)
 */
void ts_image_output_size(const ts_image_transform_t *t, uint32_t w,
    uint32_t h, uint32_t *out_w, uint32_t *out_h);

/*
 * Writes img transformed by t into out as float32 [channels, out_h,
 * out_w] (ts_image_output_size), C order.  Scratch memory is kept per
 * thread and reused.  TS_STATUS_OK, or TS_STATUS_BAD_INPUT (an output
 * dimension of 0, sizes that overflow) / TS_STATUS_NO_RESOURCES with a
 * message.
 */
ts_status_e ts_image_transform(const ts_image_t *img,
    const ts_image_transform_t *t, float *out, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* TS_IMAGE_H */
