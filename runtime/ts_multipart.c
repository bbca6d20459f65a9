/*
 * ts_multipart.c: form bodies split into fields, without copies (see
 * ts_multipart.h).
 *
 * A multipart body, as RFC 2046 §5.1.1 lays it out (CRLF, or a bare LF
 * as Netty and _request.py also accept):
 *
 *   preamble CRLF --boundary [ \t]* CRLF headers CRLF CRLF content
 *            CRLF --boundary [ \t]* CRLF headers ... content
 *            CRLF --boundary-- epilogue
 *
 * The CRLF before each delimiter belongs to the delimiter, not to the
 * content before it.  A delimiter is found by "\n--boundary" alone: RFC
 * 2046 forbids the boundary inside a part, so the first match is the
 * end of the part, and what follows it on its line decides (the close,
 * padding and a line break, or a malformed body).
 *
 * Parameters (the content type's boundary, Content-Disposition's name
 * and filename) are read as _request.py's header_params reads them:
 *   ; \s* name \s* = \s* ( "quoted, \-escaped" | anything up to ';' )
 * names without case, the value stripped, the last of a name winning.
 */

#define _GNU_SOURCE             /* memmem */

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ts_multipart.h"


typedef struct {
    const unsigned char  *name;
    size_t                name_len;
    const unsigned char  *value;        /* without its quotes */
    size_t                value_len;
    int                   quoted;       /* value has \-escapes */
} ts_param_t;


static const char  ts_multipart_octet[] = "application/octet-stream";


static int
ts_form_space(unsigned char c)
{
    /* Python's bytes.strip() and the ASCII part of re's \s */
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v'
           || c == '\f';
}


static void
ts_form_strip(const unsigned char **p, size_t *len)
{
    while (*len > 0 && ts_form_space((*p)[0])) {
        (*p)++;
        (*len)--;
    }

    while (*len > 0 && ts_form_space((*p)[*len - 1])) {
        (*len)--;
    }
}


static int
ts_form_token_is(const unsigned char *p, size_t len, const char *s)
{
    return len == strlen(s) && strncasecmp((const char *) p, s, len) == 0;
}


/*
 * The next parameter of a header value v[0..n) from *at on, as the
 * regex above finds it (a ';' where it does not match is passed over);
 * 1 with *p, 0 when there is none left.
 */
static int
ts_param_next(const unsigned char *v, size_t n, size_t *at, ts_param_t *p)
{
    size_t                i, j, k;
    const unsigned char  *semi, *raw;
    size_t                raw_len;

    while (*at < n) {
        semi = memchr(v + *at, ';', n - *at);
        if (semi == NULL) {
            *at = n;
            return 0;
        }

        i = semi - v + 1;
        *at = i;                /* on failure, the search goes on here */

        while (i < n && ts_form_space(v[i])) {
            i++;
        }

        j = i;
        while (j < n && !ts_form_space(v[j]) && v[j] != '=' && v[j] != ';') {
            j++;
        }

        if (j == i) {
            continue;
        }

        k = j;
        while (k < n && ts_form_space(v[k])) {
            k++;
        }

        if (k == n || v[k] != '=') {
            continue;
        }

        k++;
        while (k < n && ts_form_space(v[k])) {
            k++;
        }

        p->name = v + i;
        p->name_len = j - i;

        /*
         * "(?:[^"\\]|\\.)*": a backslash always takes the next byte.  A
         * quote that does not close runs to the end once: every later
         * value's opening quote (after '=') would have closed it.
         */
        if (k < n && v[k] == '"') {
            size_t  m;

            for (m = k + 1; m < n && v[m] != '"'; m++) {
                if (v[m] == '\\') {
                    if (m + 1 == n) {
                        break;
                    }
                    m++;
                }
            }

            if (m < n && v[m] == '"') {
                p->value = v + k + 1;
                p->value_len = m - k - 1;
                p->quoted = 1;
                *at = m + 1;
                return 1;
            }
        }

        /* the unquoted form: up to the next ';', stripped */
        raw = v + k;
        semi = memchr(raw, ';', n - k);
        raw_len = semi ? (size_t) (semi - raw) : n - k;
        *at = k + raw_len;

        ts_form_strip(&raw, &raw_len);

        /* _request.py takes quotes off whatever the value is, too */
        p->quoted = raw_len >= 2 && raw[0] == '"' && raw[raw_len - 1] == '"';
        if (p->quoted) {
            raw++;
            raw_len -= 2;
        }

        p->value = raw;
        p->value_len = raw_len;
        return 1;
    }

    return 0;
}


/* a quoted-string's content without its escapes into dst; its length */
static size_t
ts_param_unescape(const unsigned char *s, size_t len, unsigned char *dst)
{
    size_t  i, o;

    for (i = 0, o = 0; i < len; i++) {
        if (s[i] == '\\' && i + 1 < len) {
            i++;
        }
        if (dst) {
            dst[o] = s[i];
        }
        o++;
    }

    return o;
}


size_t
ts_content_mime(const char *content_type, const char **mime)
{
    const char  *semi;

    *mime = content_type;

    if (content_type == NULL) {
        return 0;
    }

    semi = strchr(content_type, ';');

    return semi ? (size_t) (semi - content_type) : strlen(content_type);
}


int
ts_form_init(ts_form_t *form, const unsigned char *body, size_t len,
    const char *content_type, char *err, size_t errlen)
{
    size_t       at, n, blen, mlen;
    ts_param_t   p, boundary;
    const char  *mime;
    int          found;

    memset(form, 0, sizeof(ts_form_t));
    memset(&boundary, 0, sizeof(ts_param_t));
    form->pos = body;
    form->end = body + len;

    if (content_type == NULL) {
        return TS_FORM_NONE;
    }

    /* both tests as _request.py (and Netty) make them: a prefix, a type */
    if (strncasecmp(content_type, "multipart/form-data",
                    sizeof("multipart/form-data") - 1)
        != 0)
    {
        mlen = ts_content_mime(content_type, &mime);

        if (ts_form_token_is((const unsigned char *) mime, mlen,
                             "application/x-www-form-urlencoded"))
        {
            form->kind = TS_FORM_URLENCODED;
        }

        return form->kind;
    }

    n = strlen(content_type);
    at = 0;
    found = 0;

    while (ts_param_next((const unsigned char *) content_type, n, &at, &p)) {
        if (ts_form_token_is(p.name, p.name_len, "boundary")) {
            boundary = p;
            found = 1;
        }
    }

    blen = 0;
    if (found) {
        blen = boundary.quoted
               ? ts_param_unescape(boundary.value, boundary.value_len, NULL)
               : boundary.value_len;
    }

    if (blen == 0) {
        /* Netty would take such a body for a plain one: say why not */
        snprintf(err, errlen,
                 "malformed multipart body: the content type has no "
                 "boundary parameter");
        return -1;
    }

    if (blen > TS_MULTIPART_BOUNDARY_MAX) {
        snprintf(err, errlen,
                 "malformed multipart body: the boundary is %zu characters "
                 "long, more than the %d RFC 2046 allows", blen,
                 TS_MULTIPART_BOUNDARY_MAX);
        return -1;
    }

    memcpy(form->delim, "\n--", 3);

    if (boundary.quoted) {
        ts_param_unescape(boundary.value, boundary.value_len,
                          form->delim + 3);
    } else {
        memcpy(form->delim + 3, boundary.value, blen);
    }

    form->delim_len = 3 + blen;
    form->kind = TS_FORM_MULTIPART;

    return TS_FORM_MULTIPART;
}


/* one part's headers and content, [start, stop) between delimiters */
static int
ts_multipart_part(ts_form_t *form, const unsigned char *start,
    const unsigned char *stop, ts_form_field_t *f, char *err, size_t errlen)
{
    const unsigned char  *p, *nl, *line, *hend, *content, *colon;
    const unsigned char  *disp, *type, *name, *value;
    size_t                disp_len, type_len, name_len, value_len, at, llen;
    ts_param_t            param;
    int                   named;

    disp = NULL;
    disp_len = 0;
    type = NULL;
    type_len = 0;

    /* the headers end at the first empty line: "\r?\n\r?\n" */
    if (stop - start >= 1 && start[0] == '\n') {
        hend = start;
        content = start + 1;

    } else if (stop - start >= 2 && start[0] == '\r' && start[1] == '\n') {
        hend = start;
        content = start + 2;

    } else {
        for (p = start; ; p = nl + 1) {
            nl = memchr(p, '\n', stop - p);
            if (nl == NULL) {
                snprintf(err, errlen,
                         "malformed multipart body: part %zu has no blank "
                         "line after its headers", form->count);
                return -1;
            }

            if (stop - nl >= 2 && nl[1] == '\n') {
                content = nl + 2;
                break;
            }

            if (stop - nl >= 3 && nl[1] == '\r' && nl[2] == '\n') {
                content = nl + 3;
                break;
            }
        }

        hend = (nl > start && nl[-1] == '\r') ? nl - 1 : nl;
    }

    /* "name: value" lines; the others are ignored, as _request.py does */
    for (line = start; line < hend; line = nl + 1) {
        nl = memchr(line, '\n', hend - line);
        if (nl == NULL) {
            nl = hend;
        }

        llen = nl - line;
        if (llen > 0 && line[llen - 1] == '\r') {
            llen--;
        }

        colon = memchr(line, ':', llen);
        if (colon == NULL) {
            continue;
        }

        name = line;
        name_len = colon - line;
        ts_form_strip(&name, &name_len);

        value = colon + 1;
        value_len = line + llen - value;
        ts_form_strip(&value, &value_len);

        if (ts_form_token_is(name, name_len, "content-disposition")) {
            disp = value;
            disp_len = value_len;

        } else if (ts_form_token_is(name, name_len, "content-type")) {
            type = value;
            type_len = value_len;
        }
    }

    memset(f, 0, sizeof(ts_form_field_t));
    named = 0;
    at = 0;

    while (disp && ts_param_next(disp, disp_len, &at, &param)) {
        if (ts_form_token_is(param.name, param.name_len, "name")) {
            f->name = param.value;
            f->name_len = param.value_len;
            f->name_enc = param.quoted ? TS_FORM_NAME_QUOTED
                                       : TS_FORM_NAME_PLAIN;
            named = 1;

        } else if (ts_form_token_is(param.name, param.name_len,
                                    "filename"))
        {
            f->file = 1;
        }
    }

    if (!named) {
        /* RFC 7578 wants a name; _request.py and Netty pass it over */
        return 0;
    }

    f->value = content;
    f->value_len = stop - content;

    if (f->file) {
        p = type ? memchr(type, ';', type_len) : NULL;
        f->type = (const char *) type;
        f->type_len = p ? (size_t) (p - type) : type_len;

        if (f->type_len == 0) {
            f->type = ts_multipart_octet;
            f->type_len = sizeof(ts_multipart_octet) - 1;
        }
    }

    return 1;
}


static int
ts_multipart_next(ts_form_t *form, ts_form_field_t *f, char *err,
    size_t errlen)
{
    const unsigned char  *p, *start, *next, *stop, *end;
    size_t                blen;
    int                   rc;

    end = form->end;
    blen = form->delim_len - 1;         /* "--boundary" */

    if (!form->started) {
        /* the first delimiter may open the body, without a line break */
        if ((size_t) (end - form->pos) >= blen
            && memcmp(form->pos, form->delim + 1, blen) == 0)
        {
            next = form->pos;

        } else {
            next = memmem(form->pos, end - form->pos, form->delim,
                          form->delim_len);
            if (next == NULL) {
                snprintf(err, errlen,
                         "malformed multipart body: no delimiter \"%.*s\"",
                         (int) blen, form->delim + 1);
                return -1;
            }
            next++;
        }

        form->pos = next;
        form->started = 1;
    }

    while (!form->done) {
        /* form->pos is at a delimiter's "--boundary" */
        p = form->pos + blen;

        if (end - p >= 2 && p[0] == '-' && p[1] == '-') {
            /* the close delimiter: the epilogue is ignored */
            form->done = 1;
            break;
        }

        while (p < end && (*p == ' ' || *p == '\t')) {
            p++;
        }

        if (p < end && *p == '\n') {
            p++;

        } else if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') {
            p += 2;

        } else if (p < end) {
            snprintf(err, errlen,
                     "malformed multipart body: text after the delimiter "
                     "\"%.*s\" on its line", (int) blen, form->delim + 1);
            return -1;
        }

        start = p;
        next = memmem(start, end - start, form->delim, form->delim_len);

        if (next == NULL) {
            snprintf(err, errlen,
                     "malformed multipart body: no closing delimiter "
                     "\"%.*s--\"", (int) blen, form->delim + 1);
            return -1;
        }

        /* the line break before the delimiter is the delimiter's */
        stop = (next > start && next[-1] == '\r') ? next - 1 : next;
        form->pos = next + 1;

        if (++form->count > TS_FORM_MAX_FIELDS) {
            snprintf(err, errlen,
                     "malformed multipart body: more than %d parts",
                     TS_FORM_MAX_FIELDS);
            return -1;
        }

        rc = ts_multipart_part(form, start, stop, f, err, errlen);
        if (rc != 0) {
            return rc;
        }
    }

    return 0;
}


static int
ts_urlencoded_next(ts_form_t *form, ts_form_field_t *f, char *err,
    size_t errlen)
{
    const unsigned char  *pair, *amp, *eq;
    size_t                len;

    while (form->pos < form->end) {
        pair = form->pos;
        amp = memchr(pair, '&', form->end - pair);
        len = amp ? (size_t) (amp - pair) : (size_t) (form->end - pair);
        form->pos = amp ? amp + 1 : form->end;

        if (len == 0) {
            continue;
        }

        if (++form->count > TS_FORM_MAX_FIELDS) {
            snprintf(err, errlen,
                     "malformed urlencoded body: more than %d fields",
                     TS_FORM_MAX_FIELDS);
            return -1;
        }

        memset(f, 0, sizeof(ts_form_field_t));
        eq = memchr(pair, '=', len);

        f->name = pair;
        f->name_len = eq ? (size_t) (eq - pair) : len;
        f->name_enc = TS_FORM_NAME_PERCENT;
        f->value = eq ? eq + 1 : pair + len;
        f->value_len = eq ? len - f->name_len - 1 : 0;

        return 1;
    }

    return 0;
}


int
ts_form_next(ts_form_t *form, ts_form_field_t *f, char *err, size_t errlen)
{
    switch (form->kind) {
    case TS_FORM_MULTIPART:
        return ts_multipart_next(form, f, err, errlen);
    case TS_FORM_URLENCODED:
        return ts_urlencoded_next(form, f, err, errlen);
    default:
        return 0;
    }
}


static int
ts_form_hex(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}


/* one decoded byte of an urlencoded s[*i..len), *i moved past it */
static unsigned char
ts_form_urlbyte(const unsigned char *s, size_t len, size_t *i)
{
    int  hi, lo;

    if (s[*i] == '+') {
        (*i)++;
        return ' ';
    }

    if (s[*i] == '%' && *i + 2 < len) {
        hi = ts_form_hex(s[*i + 1]);
        lo = ts_form_hex(s[*i + 2]);

        if (hi >= 0 && lo >= 0) {
            *i += 3;
            return (unsigned char) (hi << 4 | lo);
        }
    }

    return s[(*i)++];
}


size_t
ts_form_urldecode(const unsigned char *src, size_t len, unsigned char *dst)
{
    size_t  i, o;

    /* o <= i throughout: decoding in place is safe */
    for (i = 0, o = 0; i < len; o++) {
        dst[o] = ts_form_urlbyte(src, len, &i);
    }

    return o;
}


int
ts_form_name_is(const ts_form_field_t *f, const char *name)
{
    size_t         i, k, n;
    unsigned char  c;

    n = strlen(name);

    for (i = 0, k = 0; i < f->name_len; k++) {
        switch (f->name_enc) {
        case TS_FORM_NAME_QUOTED:
            if (f->name[i] == '\\' && i + 1 < f->name_len) {
                i++;
            }
            c = f->name[i++];
            break;
        case TS_FORM_NAME_PERCENT:
            c = ts_form_urlbyte(f->name, f->name_len, &i);
            break;
        default:
            c = f->name[i++];
            break;
        }

        if (k == n || c != (unsigned char) name[k]) {
            return 0;
        }
    }

    return k == n;
}
