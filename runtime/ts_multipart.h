/*
 * ts_multipart.h: the fields of a form body, as TorchServe's frontend
 * splits a request into a handler's inputs (API.md §1), and as our
 * Python package does it (runtime/python/ts/_request.py).
 *
 *   - multipart/form-data with a boundary parameter (RFC 7578, RFC 2046
 *     §5.1.1): one field per part that has a Content-Disposition name;
 *     a part with a filename keeps its Content-Type (without parameters,
 *     "application/octet-stream" if none), a plain field has none;
 *   - application/x-www-form-urlencoded: one field per "name=value" pair
 *     between '&'s, both still encoded (ts_form_urldecode);
 *   - anything else is not a form: the whole body is one input, "body".
 *
 * Nothing is copied: fields point into the body, which must outlive them,
 * and the parse is one pass with no allocation.  A body is refused with a
 * message ("malformed multipart body: ...") when it has no delimiter, no
 * closing delimiter, a part without the blank line after its headers, or
 * more than TS_FORM_MAX_FIELDS parts or pairs (Netty's default limit).
 */

#ifndef TS_MULTIPART_H
#define TS_MULTIPART_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Netty's HttpPostRequestDecoder refuses more fields than this */
#define TS_FORM_MAX_FIELDS         128

/* RFC 2046 §5.1.1: a boundary is 1 to 70 characters */
#define TS_MULTIPART_BOUNDARY_MAX  70


typedef enum {
    TS_FORM_NONE = 0,           /* not a form: the body is one input */
    TS_FORM_MULTIPART,
    TS_FORM_URLENCODED
} ts_form_kind_e;


typedef enum {
    TS_FORM_NAME_PLAIN = 0,     /* the name's bytes as they are */
    TS_FORM_NAME_QUOTED,        /* a quoted-string's content: \x is x */
    TS_FORM_NAME_PERCENT        /* urlencoded: %XX and '+' */
} ts_form_name_e;


typedef struct {
    const unsigned char  *name;         /* into the body, see name_enc */
    size_t                name_len;
    ts_form_name_e        name_enc;

    /* multipart: the part's content as is; urlencoded: still encoded */
    const unsigned char  *value;
    size_t                value_len;

    /* a file part's type without parameters; NULL for plain fields */
    const char           *type;
    size_t                type_len;
    int                   file;         /* it had a filename */
} ts_form_field_t;


typedef struct {
    ts_form_kind_e        kind;
    const unsigned char  *pos;          /* where the next field starts */
    const unsigned char  *end;
    size_t                count;        /* parts or pairs so far */
    int                   started;      /* the first delimiter is found */
    int                   done;

    /* "\n--" and the boundary: what starts every delimiter line */
    unsigned char         delim[TS_MULTIPART_BOUNDARY_MAX + 3];
    size_t                delim_len;
} ts_form_t;


/*
 * The type before its parameters, as Netty's HttpUtil.getMimeType (the
 * text before the first ';', not trimmed): its length, with *mime set;
 * 0 when content_type is NULL or that text is empty.
 */
size_t ts_content_mime(const char *content_type, const char **mime);

/*
 * Starts reading body[0..len) as its content type says.  Returns the
 * kind; -1 with a message for a multipart/form-data type without a
 * usable boundary (missing, empty, longer than 70 characters).
 */
int ts_form_init(ts_form_t *form, const unsigned char *body, size_t len,
    const char *content_type, char *err, size_t errlen);

/*
 * The next field into *f: 1, 0 at the end of the form (TS_FORM_NONE has
 * no fields), or -1 with a message.  Parts without a name are skipped.
 */
int ts_form_next(ts_form_t *form, ts_form_field_t *f, char *err,
    size_t errlen);

/* 1 if the field's decoded name is name (a C string), else 0 */
int ts_form_name_is(const ts_form_field_t *f, const char *name);

/*
 * Percent-decodes an urlencoded name or value as Python's unquote_plus:
 * '+' is a space, %XX with two hex digits a byte, anything else itself
 * (a stray '%' included).  dst needs len bytes (it may be src); returns
 * the decoded length.
 */
size_t ts_form_urldecode(const unsigned char *src, size_t len,
    unsigned char *dst);

#ifdef __cplusplus
}
#endif

#endif /* TS_MULTIPART_H */
