/*
 * test_image_decode.c: ts_image_decode against Pillow 9.4 (cmocka).
 *
 * The fixtures (t/images/make_decode_fixtures.py, in $TS_TEST_FIXTURES/
 * images) hold each image with Pillow's convert("RGB") and convert("L")
 * of it; every one must come out byte for byte the same.  The hostile
 * ones must be refused with the message the index names; truncations and
 * corruptions at many offsets must never crash or leak.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "ts_image.h"


typedef struct {
    char     dir[1024];
    json_t  *index;
} test_fixtures_t;


static uint32_t  test_crc_table[256];


static void
test_crc_init(void)
{
    int       k;
    uint32_t  c, n;

    for (n = 0; n < 256; n++) {
        c = n;
        for (k = 0; k < 8; k++) {
            c = (c & 1) ? 0xedb88320 ^ (c >> 1) : c >> 1;
        }
        test_crc_table[n] = c;
    }
}


static uint32_t
test_crc32(const uint8_t *p, size_t n)
{
    uint32_t  c = 0xffffffff;

    while (n--) {
        c = test_crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
    }

    return c ^ 0xffffffff;
}


static unsigned char *
test_read(const test_fixtures_t *fx, const char *name, size_t *len)
{
    FILE           *f;
    long            size;
    char            path[2048];
    unsigned char  *data;

    snprintf(path, sizeof(path), "%s/%s", fx->dir, name);

    f = fopen(path, "rb");
    if (f == NULL) {
        fail_msg("cannot open %s", path);
    }

    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    size = ftell(f);
    assert_true(size >= 0);
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);

    /* one byte more, so that an empty file still has a buffer */
    data = malloc((size_t) size + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t) size, f), (size_t) size);
    fclose(f);

    *len = (size_t) size;

    return data;
}


static int
test_setup(void **state)
{
    const char       *root;
    json_error_t      jerr;
    test_fixtures_t  *fx;
    char              path[2048];

    test_crc_init();

    root = getenv("TS_TEST_FIXTURES");
    if (root == NULL) {
        *state = NULL;
        return 0;
    }

    fx = calloc(1, sizeof(test_fixtures_t));
    assert_non_null(fx);

    snprintf(fx->dir, sizeof(fx->dir), "%s/images", root);
    snprintf(path, sizeof(path), "%s/decode.json", fx->dir);

    fx->index = json_load_file(path, 0, &jerr);
    if (fx->index == NULL) {
        fprintf(stderr, "%s: %s (line %d)\n", path, jerr.text, jerr.line);
        free(fx);
        return -1;
    }

    *state = fx;

    return 0;
}


static int
test_teardown(void **state)
{
    test_fixtures_t  *fx = *state;

    if (fx != NULL) {
        json_decref(fx->index);
        free(fx);
    }

    return 0;
}


static test_fixtures_t *
test_fixtures(void **state)
{
    if (*state == NULL) {
        print_message("TS_TEST_FIXTURES is not set: make fixtures\n");
        skip();
    }

    return *state;
}


static const char *
test_str(json_t *entry, const char *key)
{
    return json_string_value(json_object_get(entry, key));
}


/* the first byte where a and b differ, for the failure message */
static void
test_compare(const char *file, const char *what, const uint8_t *got,
    const uint8_t *want, size_t len, uint32_t width, int channels)
{
    size_t  i, px;

    if (memcmp(got, want, len) == 0) {
        return;
    }

    for (i = 0; got[i] == want[i]; i++) { /* void */ }

    px = i / (size_t) channels;

    fail_msg("%s %s: byte %zu (x %zu, y %zu, channel %zu) is %u, Pillow's "
             "is %u", file, what, i, px % width, px / width,
             i % (size_t) channels, got[i], want[i]);
}


static void
test_decode_as_pillow(const test_fixtures_t *fx, json_t *entry, int channels)
{
    char                       err[256];
    size_t                     len, want_len, size;
    uint32_t                   crc;
    const char                *file, *ref;
    ts_image_t                 img;
    ts_status_e                rc;
    unsigned char             *data, *want;
    ts_image_decode_options_t  opt;

    file = test_str(entry, "file");
    data = test_read(fx, file, &len);

    opt.channels = channels;
    opt.max_pixels = TS_IMAGE_MAX_PIXELS;

    err[0] = '\0';
    rc = ts_image_decode(data, len, &opt, &img, err, sizeof(err));
    if (rc != TS_STATUS_OK) {
        fail_msg("%s: %s", file, err);
    }

    assert_int_equal(img.width,
                     json_integer_value(json_object_get(entry, "width")));
    assert_int_equal(img.height,
                     json_integer_value(json_object_get(entry, "height")));
    assert_int_equal(img.channels, channels);

    size = (size_t) img.width * img.height * channels;
    ref = test_str(entry, channels == 3 ? "rgb" : "l");

    if (ref != NULL) {
        want = test_read(fx, ref, &want_len);
        assert_int_equal(want_len, size);
        test_compare(file, channels == 3 ? "RGB" : "L", img.pixels, want,
                     size, img.width, channels);
        free(want);

    } else {
        crc = (uint32_t) json_integer_value(
                  json_object_get(entry, channels == 3 ? "rgb_crc32"
                                                       : "l_crc32"));
        if (test_crc32(img.pixels, size) != crc) {
            fail_msg("%s %s: CRC-32 %08x, Pillow's %08x", file,
                     channels == 3 ? "RGB" : "L",
                     test_crc32(img.pixels, size), crc);
        }
    }

    ts_image_free(&img);
    assert_null(img.pixels);
    free(data);
}


static void
test_fixture_images(void **state)
{
    size_t            i, n;
    json_t           *entry;
    test_fixtures_t  *fx;

    fx = test_fixtures(state);
    n = 0;

    json_array_foreach(json_object_get(fx->index, "images"), i, entry) {
        if (json_object_get(entry, "error") != NULL) {
            continue;
        }

        test_decode_as_pillow(fx, entry, 3);
        test_decode_as_pillow(fx, entry, 1);
        n++;
    }

    print_message("%zu images byte-identical with Pillow %s in RGB and L\n",
                  n, test_str(fx->index, "pillow"));
    assert_true(n >= 40);
}


static void
test_fixture_hostile(void **state)
{
    int                        channels;
    char                       err[256];
    size_t                     i, len, n;
    json_t                    *entry;
    const char                *file, *want;
    ts_image_t                 img;
    ts_status_e                rc;
    unsigned char             *data;
    test_fixtures_t           *fx;
    ts_image_decode_options_t  opt;

    fx = test_fixtures(state);
    n = 0;

    json_array_foreach(json_object_get(fx->index, "images"), i, entry) {
        want = test_str(entry, "error");
        if (want == NULL) {
            continue;
        }

        file = test_str(entry, "file");
        data = test_read(fx, file, &len);

        for (channels = 1; channels <= 3; channels += 2) {
            opt.channels = channels;
            opt.max_pixels = TS_IMAGE_MAX_PIXELS;

            memset(&img, 0xa5, sizeof(img));
            err[0] = '\0';

            rc = ts_image_decode(data, len, &opt, &img, err, sizeof(err));

            if (rc != TS_STATUS_BAD_INPUT || strstr(err, want) == NULL) {
                fail_msg("%s: status %d, \"%s\"; expected \"%s\"", file, rc,
                         err, want);
            }

            if (channels == 3) {
                print_message("  %-32s %s\n", file, err);
            }

            /* img is empty on failure */
            assert_null(img.pixels);
            assert_int_equal(img.width, 0);
            assert_int_equal(img.height, 0);
        }

        free(data);
        n++;
    }

    print_message("%zu hostile files refused with their messages\n", n);
    assert_true(n >= 15);
}


static void
test_fixture_formats(void **state)
{
    size_t            i, len;
    json_t           *entry;
    const char       *file, *want, *got;
    unsigned char    *data;
    test_fixtures_t  *fx;

    fx = test_fixtures(state);

    json_array_foreach(json_object_get(fx->index, "images"), i, entry) {
        file = test_str(entry, "file");
        want = test_str(entry, "format");
        data = test_read(fx, file, &len);

        got = ts_image_format(data, len);

        /* Pillow's name for a JPEG with an MPF segment */
        if (want != NULL && strcmp(want, "MPO") == 0) {
            want = "JPEG";
        }

        if (want == NULL ? got != NULL
                         : got == NULL || strcmp(got, want) != 0)
        {
            fail_msg("%s: format %s, expected %s", file,
                     got ? got : "NULL", want ? want : "NULL");
        }

        free(data);
    }
}


static void
test_formats(void **state)
{
    (void) state;

    assert_null(ts_image_format(NULL, 0));
    assert_null(ts_image_format((const unsigned char *) "", 0));
    assert_null(ts_image_format((const unsigned char *) "\xff\xd8", 2));
    assert_string_equal(ts_image_format(
                            (const unsigned char *) "\xff\xd8\xff\xe0", 4),
                        "JPEG");
    assert_string_equal(ts_image_format(
                            (const unsigned char *) "\x89PNG\r\n\x1a\n", 8),
                        "PNG");
    assert_null(ts_image_format((const unsigned char *) "\x89PNG\r\n\x1a", 7));
    assert_string_equal(ts_image_format((const unsigned char *) "GIF87a", 6),
                        "GIF");
    assert_string_equal(ts_image_format((const unsigned char *) "GIF89a..",
                                        8), "GIF");
    assert_null(ts_image_format((const unsigned char *) "GIF90a", 6));
    assert_string_equal(ts_image_format((const unsigned char *) "BM\0\0", 4),
                        "BMP");
    assert_string_equal(ts_image_format(
                            (const unsigned char *) "RIFF\0\0\0\0WEBPVP8 ",
                            16), "WebP");
    assert_null(ts_image_format((const unsigned char *) "RIFF\0\0\0\0AVI ",
                                12));
    assert_null(ts_image_format((const unsigned char *) "XXXX\0\0\0\0WEBP",
                                12));
    assert_string_equal(ts_image_format((const unsigned char *) "II*\0", 4),
                        "TIFF");
    assert_string_equal(ts_image_format((const unsigned char *) "MM\0*", 4),
                        "TIFF");
    assert_string_equal(ts_image_format((const unsigned char *) "\0\0\1\0",
                                        4), "ICO");
    assert_string_equal(ts_image_format((const unsigned char *) "8BPS", 4),
                        "PSD");
    assert_string_equal(ts_image_format(
                            (const unsigned char *) "\0\0\0\x18" "ftypavif",
                            12), "AVIF");
    assert_string_equal(ts_image_format((const unsigned char *) "P6 1 1 255",
                                        10), "PPM");
    assert_null(ts_image_format((const unsigned char *) "P7 1", 4));
    assert_null(ts_image_format((const unsigned char *) "{\"data\": 1}", 11));
}


static void
test_arguments(void **state)
{
    char                       err[256];
    ts_image_t                 img;
    ts_status_e                rc;
    ts_image_decode_options_t  opt;

    (void) state;

    opt.channels = 3;
    opt.max_pixels = 0;

    rc = ts_image_decode((const unsigned char *) "", 0, &opt, &img, err,
                         sizeof(err));
    assert_int_equal(rc, TS_STATUS_BAD_INPUT);
    assert_string_equal(err, "empty image data");
    assert_null(img.pixels);

    rc = ts_image_decode(NULL, 0, &opt, &img, err, sizeof(err));
    assert_int_equal(rc, TS_STATUS_BAD_INPUT);

    opt.channels = 2;
    rc = ts_image_decode((const unsigned char *) "\xff\xd8\xff", 3, &opt,
                         &img, err, sizeof(err));
    assert_int_equal(rc, TS_STATUS_INTERNAL);
    assert_non_null(strstr(err, "1 or 3 channels"));

    /* no room for a message: still refused, nothing written */
    opt.channels = 1;
    rc = ts_image_decode((const unsigned char *) "GIF89a", 6, &opt, &img,
                         NULL, 0);
    assert_int_equal(rc, TS_STATUS_BAD_INPUT);

    /* a message cut to the buffer, NUL-terminated */
    rc = ts_image_decode((const unsigned char *) "GIF89a", 6, &opt, &img,
                         err, 8);
    assert_int_equal(rc, TS_STATUS_BAD_INPUT);
    assert_string_equal(err, "GIF ima");

    ts_image_free(&img);
    ts_image_free(NULL);
}


static void
test_limit_one(const test_fixtures_t *fx, const char *file, uint32_t w,
    uint32_t h)
{
    char                       err[256], want[256];
    size_t                     len;
    ts_image_t                 img;
    ts_status_e                rc;
    unsigned char             *data;
    ts_image_decode_options_t  opt;

    data = test_read(fx, file, &len);
    opt.channels = 3;

    /* exactly at the limit, and no limit at all: decoded */
    opt.max_pixels = (uint64_t) w * h;
    rc = ts_image_decode(data, len, &opt, &img, err, sizeof(err));
    assert_int_equal(rc, TS_STATUS_OK);
    ts_image_free(&img);

    opt.max_pixels = 0;
    rc = ts_image_decode(data, len, &opt, &img, err, sizeof(err));
    assert_int_equal(rc, TS_STATUS_OK);
    ts_image_free(&img);

    /* one pixel less: refused, naming both */
    opt.max_pixels = (uint64_t) w * h - 1;
    rc = ts_image_decode(data, len, &opt, &img, err, sizeof(err));
    assert_int_equal(rc, TS_STATUS_BAD_INPUT);
    snprintf(want, sizeof(want), "image of %ux%u pixels exceeds the limit "
             "of %llu pixels", w, h, (unsigned long long) w * h - 1);
    assert_string_equal(err, want);
    assert_null(img.pixels);

    /* a side alone past the limit (libspng's own per-side limit) */
    opt.max_pixels = 10;
    rc = ts_image_decode(data, len, &opt, &img, err, sizeof(err));
    assert_int_equal(rc, TS_STATUS_BAD_INPUT);
    snprintf(want, sizeof(want), "image of %ux%u pixels exceeds the limit "
             "of 10 pixels", w, h);
    assert_string_equal(err, want);

    free(data);
}


static void
test_pixel_limit(void **state)
{
    test_fixtures_t  *fx;

    fx = test_fixtures(state);

    test_limit_one(fx, "jpeg_333x250.jpg", 333, 250);
    test_limit_one(fx, "jpeg_progressive.jpg", 227, 149);
    test_limit_one(fx, "png_rgb.png", 97, 61);
    test_limit_one(fx, "png_interlaced.png", 97, 61);
}


/*
 * Every prefix (at a stride) and bytes spoiled at many offsets: an answer
 * each time, OK or BAD_INPUT, never a crash; valgrind sees the reads.
 */
static void
test_damage_one(const test_fixtures_t *fx, const char *file, size_t steps)
{
    char                       err[256];
    size_t                     len, cut, at, stride, ok;
    ts_image_t                 img;
    ts_status_e                rc;
    unsigned char             *data, *copy;
    ts_image_decode_options_t  opt;

    data = test_read(fx, file, &len);
    copy = malloc(len);
    assert_non_null(copy);

    /* a spoiled header may claim a large canvas: keep what it costs small */
    opt.channels = 3;
    opt.max_pixels = 1 << 20;
    stride = len / steps + 1;
    ok = 0;

    for (cut = 0; cut < len; cut += stride) {
        /* a copy of just the prefix: valgrind flags a read past it */
        memcpy(copy, data, cut);
        rc = ts_image_decode(copy, cut, &opt, &img, err, sizeof(err));
        assert_true(rc == TS_STATUS_OK || rc == TS_STATUS_BAD_INPUT);
        ok += (rc == TS_STATUS_OK);
        ts_image_free(&img);
    }

    for (at = 2; at < len; at += stride) {
        memcpy(copy, data, len);
        copy[at] ^= 0xff;
        copy[(at * 7) % len] = 0;
        rc = ts_image_decode(copy, len, &opt, &img, err, sizeof(err));
        assert_true(rc == TS_STATUS_OK || rc == TS_STATUS_BAD_INPUT);
        if (rc == TS_STATUS_BAD_INPUT) {
            assert_true(err[0] != '\0');
            assert_null(img.pixels);
        }
        ts_image_free(&img);
    }

    /* no prefix of a JPEG is a whole image; a PNG's may lack only IEND */
    assert_true(ok <= 1);

    free(copy);
    free(data);
}


static void
test_damage(void **state)
{
    test_fixtures_t  *fx;

    fx = test_fixtures(state);

    test_damage_one(fx, "jpeg_420.jpg", 150);
    test_damage_one(fx, "jpeg_progressive.jpg", 150);
    test_damage_one(fx, "jpeg_cmyk.jpg", 60);
    test_damage_one(fx, "png_rgb.png", 150);
    test_damage_one(fx, "png_interlaced.png", 100);
    test_damage_one(fx, "png_palette4.png", 60);
    test_damage_one(fx, "png_rgba16.png", 60);
}


/* several threads decoding at once get what one thread gets */

typedef struct {
    const test_fixtures_t  *fx;
    const char             *file;
    const char             *ref;
    int                     channels;
    int                     failures;
} test_thread_t;


static void *
test_thread(void *arg)
{
    int                        i;
    char                       err[256];
    size_t                     len, want_len;
    ts_image_t                 img;
    test_thread_t             *t = arg;
    unsigned char             *data, *want;
    ts_image_decode_options_t  opt;

    data = test_read(t->fx, t->file, &len);
    want = test_read(t->fx, t->ref, &want_len);

    opt.channels = t->channels;
    opt.max_pixels = TS_IMAGE_MAX_PIXELS;

    for (i = 0; i < 8; i++) {
        if (ts_image_decode(data, len, &opt, &img, err, sizeof(err))
            != TS_STATUS_OK
            || (size_t) img.width * img.height * img.channels != want_len
            || memcmp(img.pixels, want, want_len) != 0)
        {
            t->failures++;
        }

        ts_image_free(&img);
    }

    free(want);
    free(data);

    return NULL;
}


static void
test_threads(void **state)
{
    int               i;
    pthread_t         tid[4];
    test_thread_t     t[4] = {
        { NULL, "jpeg_420.jpg", "jpeg_420.rgb", 3, 0 },
        { NULL, "jpeg_cmyk.jpg", "jpeg_cmyk.l", 1, 0 },
        { NULL, "png_interlaced.png", "png_interlaced.rgb", 3, 0 },
        { NULL, "png_palette4.png", "png_palette4.l", 1, 0 },
    };
    test_fixtures_t  *fx;

    fx = test_fixtures(state);

    for (i = 0; i < 4; i++) {
        t[i].fx = fx;
        assert_int_equal(pthread_create(&tid[i], NULL, test_thread, &t[i]),
                         0);
    }

    for (i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(tid[i], NULL), 0);
        assert_int_equal(t[i].failures, 0);
    }
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_arguments),
        cmocka_unit_test(test_fixture_formats),
        cmocka_unit_test(test_fixture_images),
        cmocka_unit_test(test_fixture_hostile),
        cmocka_unit_test(test_pixel_limit),
        cmocka_unit_test(test_damage),
        cmocka_unit_test(test_threads),
    };

    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
