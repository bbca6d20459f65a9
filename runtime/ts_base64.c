/*
 * ts_base64.c: Python's lenient base64 decoding (see ts_base64.h).
 *
 * The state machine is binascii's: a position in the current quad, the
 * bits left over from the previous character, and a count of the '='
 * seen since the last data character.  '=' counts as padding only once
 * two data characters of a quad are in (before that it is skipped), and
 * the quad's complete padding stops the decoding, whatever follows.
 */

#include <stdint.h>
#include <stdio.h>

#include "ts_base64.h"


/* 0..63 for the alphabet's characters, 64 for everything else */
static const uint8_t  ts_base64_table[256] = {
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 62, 64, 64, 64, 63,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 64, 64, 64, 64, 64, 64,
    64,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 64, 64, 64, 64, 64,
    64, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 64, 64, 64, 64, 64,

    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64
};


int
ts_base64_decode(const unsigned char *src, size_t len, unsigned char *out,
    size_t *outlen, char *err, size_t errlen)
{
    size_t    i, o;
    unsigned  quad, pads, left, c;

    o = 0;
    quad = 0;
    pads = 0;
    left = 0;

    for (i = 0; i < len; i++) {

        if (src[i] == '=') {
            /* padding counts from the quad's third character on */
            if (quad >= 2 && quad + ++pads >= 4) {
                *outlen = o;
                return 0;
            }
            continue;
        }

        c = ts_base64_table[src[i]];
        if (c == 64) {
            continue;
        }

        pads = 0;

        /* o <= i here (3 bytes per 4 characters): in place is safe */
        switch (quad) {
        case 0:
            left = c;
            quad = 1;
            break;
        case 1:
            out[o++] = (unsigned char) ((left << 2) | (c >> 4));
            left = c & 0x0f;
            quad = 2;
            break;
        case 2:
            out[o++] = (unsigned char) ((left << 4) | (c >> 2));
            left = c & 0x03;
            quad = 3;
            break;
        default:
            out[o++] = (unsigned char) ((left << 6) | c);
            quad = 0;
            break;
        }
    }

    if (quad == 1) {
        /* Python counts the data characters the same way */
        snprintf(err, errlen,
                 "number of data characters (%zu) cannot be 1 more than a "
                 "multiple of 4", o / 3 * 4 + 1);
        return -1;
    }

    if (quad != 0) {
        snprintf(err, errlen, "incorrect padding");
        return -1;
    }

    *outlen = o;
    return 0;
}
