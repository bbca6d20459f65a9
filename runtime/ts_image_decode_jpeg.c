/*
 * ts_image_decode_jpeg.c: JPEG with libjpeg-turbo, set up as Pillow 9.4
 * sets it up (src/libImaging/JpegDecode.c, src/PIL/JpegImagePlugin.py):
 *
 *   - libjpeg's defaults otherwise: JDCT_ISLOW, fancy upsampling, block
 *     smoothing (Pillow changes them only in draft mode, which open()
 *     does not use); the file's own colour space as libjpeg guesses it
 *     from the JFIF and Adobe markers (Pillow's tile gives no jpegmode);
 *   - the mode from the number of components: 1 "L" (JCS_GRAYSCALE),
 *     3 "RGB" (JCS_RGB), 4 "CMYK" read as "CMYK;I" (JCS_CMYK, so libjpeg
 *     turns YCCK into CMYK, and the bytes are inverted: Adobe's polarity);
 *   - EXIF orientation ignored, as Image.open() ignores it;
 *   - warnings (corrupt entropy data that libjpeg gets past) ignored;
 *   - data that ends while libjpeg still wants bytes for the header or
 *     the scanlines is an error: there Pillow's suspending source asks
 *     for more, gets none, and raises "image file is truncated".  That
 *     includes a file without EOI: libjpeg's bit reader fills ahead past
 *     the last MCU.  Only jpeg_finish_decompress may run out (Pillow
 *     ignores its suspension once every row is out): it gets an EOI.
 *
 * Errors longjmp out of libjpeg to ts_image_decode_jpeg, never exit().
 */

#include <limits.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "ts_image_decode_int.h"


/*
 * A progressive file may have any number of scans, each a pass over the
 * whole image: a small file could cost minutes.  Real encoders write 10
 * or so; libjpeg-turbo's own advice for untrusted input is a few hundred.
 */
#define TS_IMAGE_JPEG_MAX_SCANS   500

/* for the whole-image coefficient buffers of a progressive file */
#define TS_IMAGE_JPEG_MEM_SLACK   (64 * 1024 * 1024)

/* rows handed to jpeg_read_scanlines at once when they need no conversion */
#define TS_IMAGE_JPEG_ROWS        8


typedef enum {
    TS_IMAGE_JPEG_READING = 0,
    TS_IMAGE_JPEG_FINISHING,    /* every scanline is out */
    TS_IMAGE_JPEG_TRUNCATED,
    TS_IMAGE_JPEG_TOO_MANY_SCANS
} ts_image_jpeg_phase_e;


typedef struct {
    struct jpeg_decompress_struct   cinfo;
    struct jpeg_error_mgr           jerr;
    struct jpeg_source_mgr          src;
    struct jpeg_progress_mgr        progress;
    jmp_buf                         jmp;
    ts_image_jpeg_phase_e           phase;
    ts_status_e                     status;
    ts_image_decoder_t             *d;
} ts_image_jpeg_t;


static ts_status_e ts_image_jpeg_run(ts_image_jpeg_t *j,
    const unsigned char *data, size_t len);
static ts_status_e ts_image_jpeg_read(ts_image_jpeg_t *j, uint8_t *scratch);
static void ts_image_jpeg_error_exit(j_common_ptr cinfo);
static void ts_image_jpeg_output_message(j_common_ptr cinfo);
static void ts_image_jpeg_progress(j_common_ptr cinfo);
static void ts_image_jpeg_init_source(j_decompress_ptr cinfo);
static boolean ts_image_jpeg_fill_input(j_decompress_ptr cinfo);
static void ts_image_jpeg_skip_input(j_decompress_ptr cinfo, long n);
static void ts_image_jpeg_term_source(j_decompress_ptr cinfo);


/* what ends a file early once the image is out: read-only, shared */
static const JOCTET  ts_image_jpeg_eoi[2] = { 0xff, JPEG_EOI };


ts_status_e
ts_image_decode_jpeg(ts_image_decoder_t *d, const unsigned char *data,
    size_t len)
{
    ts_status_e      rc;
    ts_image_jpeg_t  j;

    memset(&j, 0, sizeof(ts_image_jpeg_t));
    j.d = d;
    j.status = TS_STATUS_BAD_INPUT;

    j.cinfo.err = jpeg_std_error(&j.jerr);
    j.jerr.error_exit = ts_image_jpeg_error_exit;
    j.jerr.output_message = ts_image_jpeg_output_message;

    /*
     * Everything the library does runs in ts_image_jpeg_run, so that no
     * local of this function changes between setjmp and a longjmp; the
     * pixels, if any, are d->img's and ts_image_decode frees them.
     */
    if (setjmp(j.jmp)) {
        jpeg_destroy_decompress(&j.cinfo);
        return j.status;
    }

    jpeg_create_decompress(&j.cinfo);

    rc = ts_image_jpeg_run(&j, data, len);

    jpeg_destroy_decompress(&j.cinfo);

    return rc;
}


static ts_status_e
ts_image_jpeg_run(ts_image_jpeg_t *j, const unsigned char *data, size_t len)
{
    int                  ncomp;
    size_t               scratch_size;
    uint8_t             *scratch;
    ts_status_e          rc;
    ts_image_decoder_t  *d;
    j_decompress_ptr     cinfo;

    d = j->d;
    cinfo = &j->cinfo;

    /*
     * Virtual arrays (a progressive file's coefficients) beyond this
     * fail with "Backing store not supported" instead of allocating: a
     * bound even when the caller sets no pixel limit.
     */
    if (d->max_pixels != 0 && d->max_pixels < (uint64_t) LONG_MAX / 16) {
        cinfo->mem->max_memory_to_use = (long) (d->max_pixels * 8)
                                        + TS_IMAGE_JPEG_MEM_SLACK;
    }

    j->progress.progress_monitor = ts_image_jpeg_progress;
    cinfo->progress = &j->progress;

    j->src.init_source = ts_image_jpeg_init_source;
    j->src.fill_input_buffer = ts_image_jpeg_fill_input;
    j->src.skip_input_data = ts_image_jpeg_skip_input;
    j->src.resync_to_restart = jpeg_resync_to_restart;
    j->src.term_source = ts_image_jpeg_term_source;
    j->src.next_input_byte = data;
    j->src.bytes_in_buffer = len;
    cinfo->src = &j->src;

    (void) jpeg_read_header(cinfo, TRUE);

    /* before jpeg_start_decompress allocates anything of the image's size */
    rc = ts_image_decode_check_size(d, cinfo->image_width,
                                    cinfo->image_height);
    if (rc != TS_STATUS_OK) {
        return rc;
    }

    ncomp = cinfo->num_components;

    switch (ncomp) {

    case 1:
        cinfo->out_color_space = JCS_GRAYSCALE;
        break;

    case 3:
        cinfo->out_color_space = JCS_RGB;
        break;

    case 4:
        cinfo->out_color_space = JCS_CMYK;
        break;

    default:
        /* JpegImagePlugin's SOF handler refuses them */
        ts_image_decode_error(d, "JPEG: cannot handle %d-component images",
                              ncomp);
        return TS_STATUS_BAD_INPUT;
    }

    /* a row to convert from, unless libjpeg writes ours */
    scratch_size = (ncomp == d->channels) ? 0
                                          : (size_t) cinfo->image_width * ncomp;

    rc = ts_image_decode_alloc(d, cinfo->image_width, cinfo->image_height,
                               scratch_size, &scratch);
    if (rc != TS_STATUS_OK) {
        return rc;
    }

    (void) jpeg_start_decompress(cinfo);

    rc = ts_image_jpeg_read(j, scratch);
    if (rc != TS_STATUS_OK) {
        return rc;
    }

    /* what follows the last scanline may be missing: Pillow's too */
    j->phase = TS_IMAGE_JPEG_FINISHING;

    (void) jpeg_finish_decompress(cinfo);

    return TS_STATUS_OK;
}


static ts_status_e
ts_image_jpeg_read(ts_image_jpeg_t *j, uint8_t *scratch)
{
    int                  i, n, ncomp;
    size_t               stride;
    uint8_t             *out;
    JSAMPROW             rows[TS_IMAGE_JPEG_ROWS];
    JDIMENSION           got, width;
    ts_image_decoder_t  *d;
    j_decompress_ptr     cinfo;

    d = j->d;
    cinfo = &j->cinfo;
    width = cinfo->output_width;
    ncomp = cinfo->output_components;
    stride = (size_t) width * d->channels;

    if (cinfo->output_width != d->img->width
        || cinfo->output_height != d->img->height
        || ncomp != cinfo->num_components)
    {
        ts_image_decode_error(d, "JPEG: libjpeg's output is %ux%ux%d, "
                              "not the header's %ux%ux%d",
                              cinfo->output_width, cinfo->output_height, ncomp,
                              d->img->width, d->img->height,
                              cinfo->num_components);
        return TS_STATUS_INTERNAL;
    }

    while (cinfo->output_scanline < cinfo->output_height) {
        out = d->img->pixels + (size_t) cinfo->output_scanline * stride;

        if (scratch == NULL) {
            n = (int) (cinfo->output_height - cinfo->output_scanline);
            if (n > TS_IMAGE_JPEG_ROWS) {
                n = TS_IMAGE_JPEG_ROWS;
            }

            for (i = 0; i < n; i++) {
                rows[i] = out + (size_t) i * stride;
            }

            got = jpeg_read_scanlines(cinfo, rows, (JDIMENSION) n);

        } else {
            rows[0] = scratch;
            got = jpeg_read_scanlines(cinfo, rows, 1);

            if (got == 1) {
                if (ncomp == 1) {
                    ts_image_row_from_l(out, scratch, width, d->channels);

                } else if (ncomp == 3) {
                    ts_image_row_from_rgb(out, scratch, width, 3,
                                          d->channels);

                } else {
                    ts_image_row_from_cmyk_inverted(out, scratch, width,
                                                    d->channels);
                }
            }
        }

        /* our source never suspends: it errs at the end of the data */
        if (got == 0) {
            ts_image_decode_error(d, "JPEG: no scanline at row %u",
                                  cinfo->output_scanline);
            return TS_STATUS_INTERNAL;
        }
    }

    return TS_STATUS_OK;
}


static void
ts_image_jpeg_error_exit(j_common_ptr cinfo)
{
    int               code;
    char              msg[JMSG_LENGTH_MAX];
    ts_image_jpeg_t  *j;

    /* cinfo is the first member of ts_image_jpeg_t */
    j = (ts_image_jpeg_t *) cinfo;
    code = cinfo->err->msg_code;

    if (j->phase == TS_IMAGE_JPEG_TRUNCATED) {
        ts_image_decode_error(j->d, "JPEG: premature end of data "
                              "(truncated image)");
        j->status = TS_STATUS_BAD_INPUT;

    } else if (j->phase == TS_IMAGE_JPEG_TOO_MANY_SCANS) {
        ts_image_decode_error(j->d, "JPEG: more than %d scans",
                              TS_IMAGE_JPEG_MAX_SCANS);
        j->status = TS_STATUS_BAD_INPUT;

    } else if (code == JERR_OUT_OF_MEMORY) {
        ts_image_decode_error(j->d, "JPEG: out of memory");
        j->status = TS_STATUS_NO_RESOURCES;

    } else if (code == JERR_NO_BACKING_STORE) {
        ts_image_decode_error(j->d, "JPEG: the image needs more memory than "
                              "its pixel limit allows");
        j->status = TS_STATUS_BAD_INPUT;

    } else {
        (*cinfo->err->format_message)(cinfo, msg);
        ts_image_decode_error(j->d, "JPEG: corrupt or unsupported image: %s",
                              msg);
        j->status = TS_STATUS_BAD_INPUT;
    }

    longjmp(j->jmp, 1);
}


/* Pillow prints nothing, and warnings do not stop it */

static void
ts_image_jpeg_output_message(j_common_ptr cinfo)
{
}


static void
ts_image_jpeg_progress(j_common_ptr cinfo)
{
    ts_image_jpeg_t  *j;

    j = (ts_image_jpeg_t *) cinfo;

    if (j->cinfo.input_scan_number > TS_IMAGE_JPEG_MAX_SCANS) {
        j->phase = TS_IMAGE_JPEG_TOO_MANY_SCANS;
        ERREXIT(cinfo, JERR_NOT_COMPILED);
    }
}


static void
ts_image_jpeg_init_source(j_decompress_ptr cinfo)
{
}


/*
 * Called only when the data is used up (it is all in the buffer from the
 * start): where Pillow's decoder would suspend and find no more.
 */
static boolean
ts_image_jpeg_fill_input(j_decompress_ptr cinfo)
{
    ts_image_jpeg_t  *j;

    j = (ts_image_jpeg_t *) cinfo;

    if (j->phase != TS_IMAGE_JPEG_FINISHING) {
        j->phase = TS_IMAGE_JPEG_TRUNCATED;
        ERREXIT(cinfo, JERR_INPUT_EOF);
    }

    cinfo->src->next_input_byte = ts_image_jpeg_eoi;
    cinfo->src->bytes_in_buffer = sizeof(ts_image_jpeg_eoi);

    return TRUE;
}


static void
ts_image_jpeg_skip_input(j_decompress_ptr cinfo, long n)
{
    struct jpeg_source_mgr  *src;

    src = cinfo->src;

    if (n <= 0) {
        return;
    }

    while ((size_t) n > src->bytes_in_buffer) {
        n -= (long) src->bytes_in_buffer;
        (void) ts_image_jpeg_fill_input(cinfo);
    }

    src->next_input_byte += n;
    src->bytes_in_buffer -= (size_t) n;
}


static void
ts_image_jpeg_term_source(j_decompress_ptr cinfo)
{
}
