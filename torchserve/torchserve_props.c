/*
 * torchserve_props.c: a config.properties file as java.util.Properties
 * reads it (TorchServe's frontend loads it so): comment lines starting
 * with '#' or '!', "key=value", "key: value" and "key value", natural
 * lines joined by a trailing backslash (the next line's leading blanks
 * dropped), and the escapes \t \n \r \f \uXXXX (as UTF-8) and \c -> c.
 * A later key replaces an earlier one.  Each value remembers its line,
 * for errors that name it.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "torchserve.h"


static int tsc_props_logical(const char *text, size_t len, size_t *at,
    int *natural, char **out, int *line);
static void tsc_props_natural(const char *text, size_t len, size_t *at,
    int *natural, const char **start, const char **end);
static void tsc_props_unescape(const char *s, size_t len, char *out,
    size_t *outlen, int key);
static int tsc_props_set(tsc_props_t *p, char *key, char *value, int line);


int
tsc_props_read(const char *path, tsc_props_t *p, char *err, size_t errlen)
{
    int      rc;
    char    *text;
    long     size;
    FILE    *f;

    memset(p, 0, sizeof(tsc_props_t));

    f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }

    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0 || size > (1 << 24))
    {
        fclose(f);
        snprintf(err, errlen, "%s: not a readable file of at most 16 MB",
                 path);
        return -1;
    }

    text = malloc(size + 1);
    if (text == NULL || fread(text, 1, size, f) != (size_t) size) {
        fclose(f);
        free(text);
        snprintf(err, errlen, "%s: read failed", path);
        return -1;
    }

    fclose(f);
    text[size] = '\0';

    rc = tsc_props_parse(text, size, path, p, err, errlen);

    free(text);

    return rc;
}


/*
 * The properties of text (size bytes, not necessarily NUL-terminated)
 * into p; path names the file in p and in err.  The fuzz target
 * fuzz/targets/ngx_props.c calls it without a file.
 */
int
tsc_props_parse(const char *text, size_t size, const char *path,
    tsc_props_t *p, char *err, size_t errlen)
{
    int      line, natural, rc;
    char    *logical, *k, *v, *key, *value;
    size_t   at, klen, vlen, n;

    memset(p, 0, sizeof(tsc_props_t));

    p->path = strdup(path);
    at = 0;
    natural = 0;

    for ( ;; ) {
        rc = tsc_props_logical(text, size, &at, &natural, &logical, &line);

        if (rc == 0) {
            break;
        }

        if (rc < 0) {
            tsc_props_free(p);
            snprintf(err, errlen, "%s: out of memory", path);
            return -1;
        }

        k = logical;

        /* the key ends at the first unescaped '=', ':' or blank */
        for (v = k; *v != '\0'; v++) {
            if (*v == '\\' && v[1] != '\0') {
                v++;
                continue;
            }

            if (*v == '=' || *v == ':' || *v == ' ' || *v == '\t'
                || *v == '\f')
            {
                break;
            }
        }

        klen = v - k;

        /* blanks, then at most one '=' or ':', then blanks */
        while (*v == ' ' || *v == '\t' || *v == '\f') {
            v++;
        }

        if (*v == '=' || *v == ':') {
            v++;
        }

        while (*v == ' ' || *v == '\t' || *v == '\f') {
            v++;
        }

        vlen = strlen(v);

        key = malloc(klen * 3 + 1);
        value = malloc(vlen * 3 + 1);

        if (key == NULL || value == NULL) {
            free(key);
            free(value);
            free(logical);
            tsc_props_free(p);
            snprintf(err, errlen, "%s: out of memory", path);
            return -1;
        }

        tsc_props_unescape(k, klen, key, &n, 1);
        key[n] = '\0';
        tsc_props_unescape(v, vlen, value, &n, 0);
        value[n] = '\0';
        free(logical);

        if (tsc_props_set(p, key, value, line) != 0) {
            tsc_props_free(p);
            snprintf(err, errlen, "%s: out of memory", path);
            return -1;
        }
    }

    return 0;
}


void
tsc_props_free(tsc_props_t *p)
{
    size_t  i;

    for (i = 0; i < p->n; i++) {
        free(p->props[i].key);
        free(p->props[i].value);
    }

    free(p->props);
    free(p->path);
    memset(p, 0, sizeof(tsc_props_t));
}


/*
 * The next logical line that is neither blank nor a comment, natural
 * lines joined; *line is the number of its first natural line.  Returns
 * 1 with a line, 0 at the end of the text, -1 without memory.
 */
static int
tsc_props_logical(const char *text, size_t len, size_t *at, int *natural,
    char **out, int *line)
{
    const char  *s, *e;
    size_t       n, cap, slashes;
    char        *buf, *more;

    for ( ;; ) {
        if (*at >= len) {
            return 0;
        }

        tsc_props_natural(text, len, at, natural, &s, &e);

        if (s == e || (s + 1 == e && *s == '\r') || *s == '#' || *s == '!') {
            continue;
        }

        break;
    }

    *line = *natural;
    cap = (e - s) + 1;
    buf = malloc(cap);
    if (buf == NULL) {
        return -1;
    }

    n = 0;

    for ( ;; ) {
        if (e > s && e[-1] == '\r') {
            e--;
        }

        /* an odd number of trailing backslashes continues the line */
        for (slashes = 0; e - slashes > s && e[-1 - (long) slashes] == '\\';
             slashes++)
        {
            /* void */
        }

        if (n + (e - s) + 1 > cap) {
            cap = n + (e - s) + 1;
            more = realloc(buf, cap);
            if (more == NULL) {
                free(buf);
                return -1;
            }
            buf = more;
        }

        memcpy(buf + n, s, e - s);
        n += e - s;

        if (slashes % 2 == 0 || *at >= len) {
            if (slashes % 2 == 1) {
                n--;                /* a last line's dangling backslash */
            }
            break;
        }

        n--;                        /* the continuation's backslash */

        tsc_props_natural(text, len, at, natural, &s, &e);
    }

    buf[n] = '\0';
    *out = buf;

    return 1;
}


/* the next natural line from *at, its leading blanks skipped */
static void
tsc_props_natural(const char *text, size_t len, size_t *at, int *natural,
    const char **start, const char **end)
{
    const char  *s, *e;

    s = text + *at;
    e = memchr(s, '\n', len - *at);
    e = e ? e : text + len;
    *at = e - text + 1;
    (*natural)++;

    while (s < e && (*s == ' ' || *s == '\t' || *s == '\f')) {
        s++;
    }

    *start = s;
    *end = e;
}


static void
tsc_props_unescape(const char *s, size_t len, char *out, size_t *outlen,
    int key)
{
    size_t         i, n;
    unsigned int   cp, d, k;
    char           c;

    (void) key;
    n = 0;

    for (i = 0; i < len; i++) {
        c = s[i];

        if (c != '\\' || i + 1 == len) {
            out[n++] = c;
            continue;
        }

        c = s[++i];

        switch (c) {
        case 't': out[n++] = '\t'; break;
        case 'n': out[n++] = '\n'; break;
        case 'r': out[n++] = '\r'; break;
        case 'f': out[n++] = '\f'; break;

        case 'u':
            cp = 0;
            for (k = 0; k < 4 && i + 1 < len; k++) {
                d = (unsigned char) s[i + 1];
                if (d >= '0' && d <= '9') {
                    d -= '0';
                } else if ((d | 0x20) >= 'a' && (d | 0x20) <= 'f') {
                    d = (d | 0x20) - 'a' + 10;
                } else {
                    break;
                }
                cp = cp * 16 + d;
                i++;
            }

            /* as UTF-8 (BMP only: Java's \u is one UTF-16 unit) */
            if (cp < 0x80) {
                out[n++] = (char) cp;
            } else if (cp < 0x800) {
                out[n++] = (char) (0xc0 | (cp >> 6));
                out[n++] = (char) (0x80 | (cp & 0x3f));
            } else {
                out[n++] = (char) (0xe0 | (cp >> 12));
                out[n++] = (char) (0x80 | ((cp >> 6) & 0x3f));
                out[n++] = (char) (0x80 | (cp & 0x3f));
            }
            break;

        default:
            out[n++] = c;
        }
    }

    *outlen = n;
}


static int
tsc_props_set(tsc_props_t *p, char *key, char *value, int line)
{
    size_t       i;
    tsc_prop_t  *props;

    for (i = 0; i < p->n; i++) {
        if (strcmp(p->props[i].key, key) == 0) {
            free(p->props[i].key);
            free(p->props[i].value);
            p->props[i].key = key;
            p->props[i].value = value;
            p->props[i].line = line;
            return 0;
        }
    }

    props = realloc(p->props, (p->n + 1) * sizeof(tsc_prop_t));
    if (props == NULL) {
        free(key);
        free(value);
        return -1;
    }

    p->props = props;
    p->props[p->n].key = key;
    p->props[p->n].value = value;
    p->props[p->n].line = line;
    p->n++;

    return 0;
}
