/*
 * ts_json.h: tensors and values to and from JSON.
 *
 * Input: a request body is ONE instance (no batch dimension): a JSON nested
 * list of numbers (or booleans), optionally wrapped as {"data": ...} or
 * {"inputs": ...}.
 *
 * Output: the text Python's json.dumps(x, indent=2) gives for the same
 * value after tensor.tolist(): 2-space indent, ", " / ": " separators as
 * Python writes them with indent, floats as Python's repr (shortest
 * round-trip, "1.0", "1e-05", "NaN", "Infinity"), ASCII-escaped strings,
 * no trailing newline.
 */

#ifndef TS_JSON_H
#define TS_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "ts_value.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Parses a body with jansson (duplicate keys rejected, any top-level
 * value accepted).  On error returns NULL and writes
 * "invalid JSON at line L, column C: <jansson text>" into err.
 */
json_t *ts_json_load(const void *buf, size_t len, char *err, size_t errlen);

/* {"data": x} -> x, {"inputs": x} -> x, anything else -> itself (borrowed) */
json_t *ts_json_unwrap_instance(json_t *body);

/*
 * A rectangular nested JSON array of numbers/booleans -> tensor of dtype.
 * A bare number gives a 0-dim tensor.  Errors (into err, return non-zero):
 * ragged lists ("ragged nested list at [0][2]: expected 3 elements, got 2"),
 * non-numeric leaves, more than TS_MAX_DIMS dimensions, an empty
 * top-level list, integers out of range for an integer dtype.
 */
int ts_json_to_tensor(const json_t *j, ts_dtype_e dtype, ts_tensor_t *out,
    char *err, size_t errlen);

/*
 * The fast path for the usual body: a rectangular nested list of JSON
 * numbers (optionally {"data": x} or {"inputs": x} with that one member)
 * decoded straight into a float32 tensor, values as ts_json_to_tensor()
 * gives them.  Returns 1 with *out set (data malloc'd), or 0 for anything
 * else (other shapes of body, malformed or ragged input, no memory): the
 * caller then takes the general path, which has the error messages.
 */
int ts_json_fast_float32(const void *buf, size_t len, ts_tensor_t *out);

/* 1 if every leaf of a nested array is a JSON boolean */
int ts_json_all_bool(const json_t *j);

/*
 * Appends the Python-style JSON text of v (see above) to a growable
 * malloc'd buffer.  *buf may be NULL initially; *len and *cap track it.
 * Dict keys that are not strings are written as Python's json would
 * (int -> "1", bool -> "true", float -> repr).  Returns non-zero on
 * allocation failure.
 */
int ts_json_dump_value(const ts_value_t *v, char **buf, size_t *len,
    size_t *cap);

/*
 * One UTF-8 sequence at p, of the n bytes there, as strictly as Python
 * decodes it (RFC 3629: no overlong form, no surrogate, nothing past
 * U+10FFFF): its length, with the code point in *cp; 0 if the bytes at p
 * are not valid UTF-8 (or n is 0).  ts_json_dump_value writes what this
 * refuses byte by byte as \u00XX.
 */
size_t ts_json_utf8_decode(const unsigned char *p, size_t n, uint32_t *cp);

/* a number never takes more than this as text */
#define TS_JSON_NUM_MAX  32

/* the Python repr of a double into out (>= 32 bytes); returns length */
size_t ts_json_format_double(double d, char *out);

/* an int64 in decimal into out (>= 21 bytes); returns length */
size_t ts_json_format_int(int64_t v, char *out);

#ifdef __cplusplus
}
#endif

#endif /* TS_JSON_H */
