/*
 * ts_vision_input.c: one request's image (or tensor) for the C vision
 * handlers, in TorchServe's two steps (see ts_vision_input.h):
 *
 *   1. the row: the request's fields, "data" and "body", each decoded by
 *      its content type as the backend's otf_message_handler does it
 *      (and _request.py's decode_value);
 *   2. VisionHandler.preprocess: `row.get("data") or row.get("body")`,
 *      then by the value's Python type.
 *
 * Where we accept more than TorchServe, it is where TorchServe fails:
 *   - a JSON body is one field "body" holding the parsed value, so a
 *     {"data": "<base64>"} body reaches VisionHandler as a dict, and
 *     torch.FloatTensor(dict) raises: we read the object's "data" (or
 *     "body") member instead, one level deep.
 *   - Netty hands plain form fields (no filename) over without a content
 *     type, as bytes: `curl -F data=<base64>` or `data=<base64>` in an
 *     urlencoded body makes PIL fail on the base64 text.  Such a value is
 *     read as base64 when it is ASCII text, and as the image's bytes
 *     otherwise (`curl -F 'data=<x.png'` sends a file as a plain field).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ts_base64.h"
#include "ts_json.h"
#include "ts_multipart.h"
#include "ts_vision_input.h"


typedef enum {
    TS_ROW_BYTES = 0,           /* Python bytes: the image itself */
    TS_ROW_TEXT,                /* Python str: base64 */
    TS_ROW_JSON,                /* a parsed JSON value */
    TS_ROW_TENSOR               /* a JSON list, parsed by the fast path */
} ts_row_kind_e;


/* one field of the row, after step 1 */
typedef struct {
    const char           *name;         /* "data" or "body" */
    ts_row_kind_e         kind;
    const unsigned char  *data;         /* BYTES, TEXT */
    size_t                len;
    unsigned char        *owned;        /* what data points into, or NULL */
    json_t               *json;         /* JSON */
    ts_tensor_t           tensor;       /* TENSOR */
} ts_row_value_t;


static void
ts_row_clear(ts_row_value_t *v)
{
    free(v->owned);
    json_decref(v->json);
    ts_tensor_clear(&v->tensor);
    v->owned = NULL;
    v->json = NULL;
}


/* 1 if s[0..len) has a byte outside ASCII */
static int
ts_vision_has_8bit(const unsigned char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (s[i] & 0x80) {
            return 1;
        }
    }

    return 0;
}


/* 1 if s[0..len) is what Python's bytes.decode("utf-8") accepts */
static int
ts_vision_utf8(const unsigned char *s, size_t len)
{
    size_t    i, n;
    uint32_t  cp;

    for (i = 0; i < len; i += n) {
        if (s[i] < 0x80) {
            n = 1;
            continue;
        }

        n = ts_json_utf8_decode(s + i, len - i, &cp);
        if (n == 0) {
            return 0;
        }
    }

    return 1;
}


/* 1 if a form value looks like text: printable ASCII and line breaks */
static int
ts_vision_ascii_text(const unsigned char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if ((s[i] < 0x20 && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            || s[i] >= 0x7f)
        {
            return 0;
        }
    }

    return 1;
}


static int
ts_vision_type_is(const char *type, size_t len, const char *s)
{
    return len == strlen(s) && memcmp(type, s, len) == 0;
}


/*
 * A JSON string without escapes, alone in value[0..len) (as `"<base64>"`
 * always is): 1 with its characters in *s, *n, which is what json.loads
 * would give, read in place instead of copied into a jansson tree.
 */
static int
ts_vision_json_plain_string(const unsigned char *value, size_t len,
    const unsigned char **s, size_t *n)
{
    const unsigned char  *p, *q, *c;

    p = value;
    q = value + len;

    while (p < q && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
        p++;
    }

    while (q > p
           && (q[-1] == ' ' || q[-1] == '\t' || q[-1] == '\n'
               || q[-1] == '\r'))
    {
        q--;
    }

    if (q - p < 2 || p[0] != '"' || q[-1] != '"') {
        return 0;
    }

    /* printable ASCII but '"' and '\\': the JSON text is the value */
    for (c = p + 1; c < q - 1; c++) {
        if (*c < 0x20 || *c > 0x7e || *c == '"' || *c == '\\') {
            return 0;
        }
    }

    *s = p + 1;
    *n = q - p - 2;

    return 1;
}


/*
 * Step 1 for one field: value[0..len) of content type type[0..type_len)
 * (NULL: none).  form_plain: a form field without a type (our base64
 * reading of ASCII text, see the top); percent: still urlencoded.
 */
static int
ts_row_decode(ts_row_value_t *v, const char *name, const unsigned char *value,
    size_t len, const char *type, size_t type_len, int form_plain,
    int percent, char *err, size_t errlen)
{
    size_t  i;

    memset(v, 0, sizeof(ts_row_value_t));
    v->name = name;
    v->kind = TS_ROW_BYTES;
    v->data = value;
    v->len = len;

    if (percent && len > 0) {
        v->owned = malloc(len);
        if (v->owned == NULL) {
            snprintf(err, errlen, "no memory");
            return -1;
        }

        v->len = ts_form_urldecode(value, len, v->owned);
        v->data = v->owned;
    }

    if (form_plain) {
        if (ts_vision_ascii_text(v->data, v->len)) {
            v->kind = TS_ROW_TEXT;
        }
        return 0;
    }

    if (type == NULL) {
        return 0;
    }

    /* the backend's tests are case-sensitive: exactly this, a prefix */
    if (ts_vision_type_is(type, type_len, "application/json")) {
        for (i = 0; i < len && (value[i] == ' ' || value[i] == '\t'
                                || value[i] == '\n' || value[i] == '\r');
             i++)
        {
            /* void */
        }

        if (ts_vision_json_plain_string(value, len, &v->data, &v->len)) {
            v->kind = TS_ROW_TEXT;
            return 0;
        }

        if (i < len && value[i] == '['
            && ts_json_fast_float32(value, len, &v->tensor))
        {
            if (ts_tensor_numel(&v->tensor) > 0) {
                v->kind = TS_ROW_TENSOR;
                return 0;
            }
            ts_tensor_clear(&v->tensor);
        }

        /*
         * Python's json.loads, as near as jansson comes: any value at the
         * top, "\u0000" allowed, a repeated key's last value kept (not
         * ts_json_load, which refuses those); what fails is bytes.
         */
        v->json = json_loadb((const char *) value, len,
                             JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        if (v->json != NULL) {
            v->kind = TS_ROW_JSON;
        }

        return 0;
    }

    if (type_len >= 4 && memcmp(type, "text", 4) == 0
        && ts_vision_utf8(value, len))
    {
        v->kind = TS_ROW_TEXT;
    }

    return 0;
}


/* Python's truth value of the row's value */
static int
ts_row_truthy(const ts_row_value_t *v)
{
    json_t  *j;

    switch (v->kind) {

    case TS_ROW_TENSOR:
        return 1;

    case TS_ROW_JSON:
        j = v->json;

        switch (json_typeof(j)) {
        case JSON_OBJECT:
            return json_object_size(j) > 0;
        case JSON_ARRAY:
            return json_array_size(j) > 0;
        case JSON_STRING:
            return json_string_length(j) > 0;
        case JSON_INTEGER:
            return json_integer_value(j) != 0;
        case JSON_REAL:
            return json_real_value(j) != 0.0;
        case JSON_TRUE:
            return 1;
        default:
            return 0;
        }

    default:
        return v->len > 0;
    }
}


static const char *
ts_vision_json_type(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "list";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    default:
        return "null";
    }
}


/*
 * base64.b64decode(str) of s[0..len) into in; buf: a malloc'd buffer
 * holding s that may be decoded in place (it is taken over), or NULL.
 */
static int
ts_vision_base64(ts_vision_input_t *in, const char *name,
    const unsigned char *s, size_t len, unsigned char *buf, char *err,
    size_t errlen)
{
    size_t  n;
    char    msg[128];

    if (ts_vision_has_8bit(s, len)) {
        /* a str must encode to ASCII before it is decoded */
        snprintf(err, errlen,
                 "the \"%s\" field is not valid base64: only ASCII "
                 "characters are allowed", name);
        goto failed;
    }

    if (buf == NULL) {
        buf = malloc(TS_BASE64_DECODED_MAX(len));
        if (buf == NULL) {
            snprintf(err, errlen, "no memory");
            return -1;
        }
    }

    if (ts_base64_decode(s, len, buf, &n, msg, sizeof(msg)) != 0) {
        snprintf(err, errlen, "the \"%s\" field is not valid base64: %s",
                 name, msg);
        goto failed;
    }

    if (n == 0) {
        snprintf(err, errlen,
                 "the \"%s\" field is not valid base64: it decodes to "
                 "nothing", name);
        goto failed;
    }

    in->kind = TS_VISION_BYTES;
    in->owned = buf;
    in->data = buf;
    in->len = n;

    return 0;

failed:

    free(buf);
    return -1;
}


static int
ts_vision_from_json(ts_vision_input_t *in, const char *name, json_t *j,
    int unwrap, char *err, size_t errlen);


/* {"data": x} or {"body": x}: x, by the same `or` as the row's */
static int
ts_vision_unwrap(ts_vision_input_t *in, const char *name, json_t *obj,
    char *err, size_t errlen)
{
    size_t           i;
    json_t          *j, *last;
    ts_row_value_t   v;

    static const char  *keys[] = { "data", "body" };

    last = NULL;

    for (i = 0; i < 2; i++) {
        j = json_object_get(obj, keys[i]);
        if (j == NULL) {
            continue;
        }

        memset(&v, 0, sizeof(ts_row_value_t));
        v.kind = TS_ROW_JSON;
        v.json = j;

        if (ts_row_truthy(&v)) {
            return ts_vision_from_json(in, keys[i], j, 0, err, errlen);
        }

        last = j;
        name = keys[i];
    }

    if (last == NULL) {
        snprintf(err, errlen,
                 "the \"%s\" field is a JSON object without \"data\" or "
                 "\"body\"", name);
    } else {
        snprintf(err, errlen, "the \"%s\" field is empty", name);
    }

    return -1;
}


/* step 2 for a JSON value j of the field name */
static int
ts_vision_from_json(ts_vision_input_t *in, const char *name, json_t *j,
    int unwrap, char *err, size_t errlen)
{
    char  msg[TS_ERROR_LEN];

    if (json_is_string(j)) {
        return ts_vision_base64(in, name,
                                (const unsigned char *) json_string_value(j),
                                json_string_length(j), NULL, err, errlen);
    }

    if (json_is_array(j)) {
        if (ts_json_to_tensor(j, TS_FLOAT32, &in->tensor, msg, sizeof(msg))
            != 0)
        {
            snprintf(err, errlen, "the \"%s\" field is not a list of "
                     "numbers: %s", name, msg);
            return -1;
        }

        in->kind = TS_VISION_TENSOR;
        return 0;
    }

    if (json_is_object(j) && unwrap) {
        return ts_vision_unwrap(in, name, j, err, errlen);
    }

    snprintf(err, errlen,
             "the \"%s\" field must be base64 text, an image or a list of "
             "numbers, not a JSON %s", name, ts_vision_json_type(j));
    return -1;
}


/* step 2: the value chosen from the row into in; v is taken over */
static int
ts_vision_from_row(ts_vision_input_t *in, ts_row_value_t *v, char *err,
    size_t errlen)
{
    unsigned char  *buf;

    switch (v->kind) {

    case TS_ROW_TENSOR:
        in->kind = TS_VISION_TENSOR;
        in->tensor = v->tensor;
        memset(&v->tensor, 0, sizeof(ts_tensor_t));
        return 0;

    case TS_ROW_JSON:
        return ts_vision_from_json(in, v->name, v->json, 1, err, errlen);

    case TS_ROW_TEXT:
        /* a decoded form value is decoded again in place */
        buf = v->owned;
        v->owned = NULL;
        return ts_vision_base64(in, v->name, v->data, v->len, buf, err,
                                errlen);

    default:
        in->kind = TS_VISION_BYTES;
        in->data = v->data;
        in->len = v->len;
        in->owned = v->owned;
        v->owned = NULL;
        return 0;
    }
}


/* the body is not a form: one field "body" of the request's type */
static int
ts_vision_body(const ts_request_t *req, ts_vision_input_t *in, char *err,
    size_t errlen)
{
    ts_row_value_t   v;
    const char      *mime;
    size_t           mlen;
    int              rc;

    if (req->len == 0) {
        snprintf(err, errlen,
                 "the request body is empty: send an image, its base64 "
                 "text or a JSON list of numbers");
        return -1;
    }

    mlen = ts_content_mime(req->content_type, &mime);

    if (ts_row_decode(&v, "body", req->body, req->len, mlen ? mime : NULL,
                      mlen, 0, 0, err, errlen)
        != 0)
    {
        return -1;
    }

    if (ts_row_truthy(&v)) {
        rc = ts_vision_from_row(in, &v, err, errlen);

    } else if (v.kind == TS_ROW_JSON && !json_is_array(v.json)
               && !json_is_object(v.json) && !json_is_string(v.json))
    {
        rc = ts_vision_from_json(in, "body", v.json, 0, err, errlen);

    } else {
        snprintf(err, errlen, "the \"body\" field is empty");
        rc = -1;
    }

    ts_row_clear(&v);
    return rc;
}


/* a form's last "data" and last "body" fields, then data or body */
static int
ts_vision_form(ts_form_t *form, ts_vision_input_t *in, char *err,
    size_t errlen)
{
    ts_form_field_t   f, fields[2];
    ts_row_value_t    v;
    int               have[2], rc, plain, i;
    const char       *names[2] = { "data", "body" }, *last;

    have[0] = 0;
    have[1] = 0;

    for ( ;; ) {
        rc = ts_form_next(form, &f, err, errlen);
        if (rc < 0) {
            return -1;
        }
        if (rc == 0) {
            break;
        }

        /* a name sent twice: the handler's dict keeps the last value */
        for (i = 0; i < 2; i++) {
            if (ts_form_name_is(&f, names[i])) {
                fields[i] = f;
                have[i] = 1;
            }
        }
    }

    last = NULL;

    for (i = 0; i < 2; i++) {
        if (!have[i]) {
            continue;
        }

        plain = (fields[i].type == NULL);

        if (ts_row_decode(&v, names[i], fields[i].value,
                          fields[i].value_len, fields[i].type,
                          fields[i].type_len, plain,
                          form->kind == TS_FORM_URLENCODED, err, errlen)
            != 0)
        {
            return -1;
        }

        if (ts_row_truthy(&v)) {
            rc = ts_vision_from_row(in, &v, err, errlen);
            ts_row_clear(&v);
            return rc;
        }

        /* empty (or null, false, 0): Python's `or` tries the next */
        ts_row_clear(&v);
        last = names[i];
    }

    if (last != NULL) {
        snprintf(err, errlen, "the \"%s\" field is empty", last);
        return -1;
    }

    snprintf(err, errlen, "the request has no field \"data\" or \"body\"%s",
             form->kind == TS_FORM_URLENCODED
             ? " (the body is read as an application/x-www-form-urlencoded "
               "form, the type curl --data-binary sends without "
               "-H 'Content-Type: ...')"
             : "");
    return -1;
}


int
ts_vision_input(const ts_request_t *req, ts_vision_input_t *in, char *err,
    size_t errlen)
{
    ts_form_t  form;
    int        kind, rc;

    memset(in, 0, sizeof(ts_vision_input_t));

    kind = ts_form_init(&form, req->body, req->len, req->content_type, err,
                        errlen);
    if (kind < 0) {
        return -1;
    }

    rc = (kind == TS_FORM_NONE) ? ts_vision_body(req, in, err, errlen)
                                : ts_vision_form(&form, in, err, errlen);

    if (rc != 0) {
        ts_vision_input_clear(in);
    }

    return rc;
}


void
ts_vision_input_clear(ts_vision_input_t *in)
{
    free(in->owned);
    ts_tensor_clear(&in->tensor);
    memset(in, 0, sizeof(ts_vision_input_t));
}
