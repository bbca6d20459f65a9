/*
 * ts_yaml.c: a YAML document loaded by libyaml, copied into a
 * ts_yaml_node_t tree with SnakeYAML's scalar types, within limits.
 */

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "ts_yaml.h"


typedef struct {
    yaml_document_t  *doc;
    size_t            nnodes;
    size_t            ntext;
    char             *err;
    size_t            errlen;
} ts_yaml_ctx_t;


static int ts_yaml_document(ts_yaml_ctx_t *x, const char *yaml, size_t len,
    ts_yaml_node_t **root);
static int ts_yaml_check_depth(ts_yaml_ctx_t *x, const char *yaml,
    size_t len);
static ts_yaml_node_t *ts_yaml_convert(ts_yaml_ctx_t *x, yaml_node_t *yn,
    unsigned depth);
static int ts_yaml_scalar(ts_yaml_ctx_t *x, yaml_node_t *yn,
    ts_yaml_node_t *node);
static void ts_yaml_resolve(ts_yaml_node_t *node);
static int ts_yaml_int(const char *s, ts_yaml_node_t *node);
static int ts_yaml_float(const char *s, double *d);
static ts_yaml_node_t **ts_yaml_map_find(const ts_yaml_node_t *map,
    const char *key);
static void ts_yaml_error(char *err, size_t errlen, size_t line,
    size_t column, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));


/* SnakeYAML's booleans (YAML 1.1), the nine true ones first */
static const char  *ts_yaml_bools[] = {
    "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON",
    "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", NULL
};


int
ts_yaml_load(const char *yaml, size_t len, ts_yaml_node_t **root,
    char *err, size_t errlen)
{
    ts_yaml_ctx_t  x;

    memset(&x, 0, sizeof(ts_yaml_ctx_t));
    x.err = err;
    x.errlen = errlen;

    return ts_yaml_document(&x, yaml, len, root);
}


void
ts_yaml_free(ts_yaml_node_t *node)
{
    size_t  i, n;

    if (node == NULL) {
        return;
    }

    n = (node->type == TS_YAML_MAP) ? 2 * node->n
        : (node->type == TS_YAML_SEQ) ? node->n : 0;

    for (i = 0; i < n; i++) {
        ts_yaml_free(node->items[i]);
    }

    free(node->items);
    free(node->str);
    free(node);
}


const ts_yaml_node_t *
ts_yaml_map_get(const ts_yaml_node_t *map, const char *key)
{
    ts_yaml_node_t  **v;

    v = ts_yaml_map_find(map, key);

    return (v != NULL) ? *v : NULL;
}


ts_yaml_node_t *
ts_yaml_map_take(ts_yaml_node_t *map, const char *key)
{
    ts_yaml_node_t  **v, *node;

    v = ts_yaml_map_find(map, key);

    if (v == NULL) {
        return NULL;
    }

    node = *v;
    *v = NULL;

    return node;
}


const char *
ts_yaml_type_name(ts_yaml_type_e type)
{
    static const char  *names[] = {
        "null", "boolean", "integer", "float", "string", "list", "mapping"
    };

    return ((unsigned) type <= TS_YAML_MAP) ? names[type] : "unknown";
}


/* the one document SnakeYAML's load() wants, as a tree (NULL: none) */

static int
ts_yaml_document(ts_yaml_ctx_t *x, const char *yaml, size_t len,
    ts_yaml_node_t **root)
{
    int               rc;
    yaml_node_t      *top;
    yaml_parser_t     parser;
    yaml_document_t   doc, next;

    *root = NULL;

    if (ts_yaml_check_depth(x, yaml, len) != 0) {
        return -1;
    }

    if (!yaml_parser_initialize(&parser)) {
        snprintf(x->err, x->errlen, "out of memory");
        return -1;
    }

    yaml_parser_set_input_string(&parser, (const unsigned char *) yaml, len);

    /* on failure libyaml deletes the document it was loading */
    if (!yaml_parser_load(&parser, &doc)) {
        goto failed;
    }

    top = yaml_document_get_root_node(&doc);

    if (top != NULL && !yaml_parser_load(&parser, &next)) {
        yaml_document_delete(&doc);
        goto failed;
    }

    rc = 0;

    if (top != NULL && yaml_document_get_root_node(&next) != NULL) {
        ts_yaml_error(x->err, x->errlen, next.start_mark.line + 1,
                      next.start_mark.column + 1, "expected a single "
                      "document in the stream, but found another document");
        rc = -1;

    } else if (top != NULL) {
        x->doc = &doc;
        *root = ts_yaml_convert(x, top, 1);
        rc = (*root != NULL) ? 0 : -1;
    }

    if (top != NULL) {
        yaml_document_delete(&next);
    }

    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);

    return rc;

failed:

    if (parser.error == YAML_MEMORY_ERROR || parser.problem == NULL) {
        snprintf(x->err, x->errlen, "out of memory");

    } else {
        ts_yaml_error(x->err, x->errlen, parser.problem_mark.line + 1,
                      parser.problem_mark.column + 1, "%s%s%s",
                      parser.context ? parser.context : "",
                      parser.context ? " " : "", parser.problem);
    }

    yaml_parser_delete(&parser);

    return -1;
}


/*
 * libyaml's scanner is quadratic in nesting depth ("[[[[...": 40000 take
 * seconds) and yaml_parser_load reads everything first: one pass over the
 * events refuses a deep document early.  A syntax error is left to the
 * load, which reports it.
 */

static int
ts_yaml_check_depth(ts_yaml_ctx_t *x, const char *yaml, size_t len)
{
    int            rc, done;
    size_t         depth;
    yaml_event_t   event;
    yaml_parser_t  parser;

    if (!yaml_parser_initialize(&parser)) {
        snprintf(x->err, x->errlen, "out of memory");
        return -1;
    }

    yaml_parser_set_input_string(&parser, (const unsigned char *) yaml, len);

    rc = 0;
    depth = 0;

    while (yaml_parser_parse(&parser, &event)) {

        /* counted as the tree counts: a node below the last level fails */
        if ((event.type == YAML_SCALAR_EVENT
             || event.type == YAML_SEQUENCE_START_EVENT
             || event.type == YAML_MAPPING_START_EVENT)
            && depth + 1 > TS_YAML_MAX_DEPTH)
        {
            ts_yaml_error(x->err, x->errlen, event.start_mark.line + 1,
                          event.start_mark.column + 1, "nested more than %d "
                          "deep", TS_YAML_MAX_DEPTH);
            rc = -1;
        }

        if (event.type == YAML_SEQUENCE_START_EVENT
            || event.type == YAML_MAPPING_START_EVENT)
        {
            depth++;

        } else if (event.type == YAML_SEQUENCE_END_EVENT
                   || event.type == YAML_MAPPING_END_EVENT)
        {
            depth--;
        }

        done = (rc != 0 || event.type == YAML_STREAM_END_EVENT);
        yaml_event_delete(&event);

        if (done) {
            break;
        }
    }

    /* without memory, the document is not known to be shallow */
    if (rc == 0 && parser.error == YAML_MEMORY_ERROR) {
        snprintf(x->err, x->errlen, "out of memory");
        rc = -1;
    }

    yaml_parser_delete(&parser);

    return rc;
}


static ts_yaml_node_t *
ts_yaml_convert(ts_yaml_ctx_t *x, yaml_node_t *yn, unsigned depth)
{
    int                map;
    size_t             i, n;
    yaml_node_t       *child;
    ts_yaml_node_t    *node;
    yaml_node_pair_t  *pairs;

    /* a recursive alias ("&a [*a]") ends here too */
    if (depth > TS_YAML_MAX_DEPTH) {
        ts_yaml_error(x->err, x->errlen, yn->start_mark.line + 1,
                      yn->start_mark.column + 1, "nested more than %d deep",
                      TS_YAML_MAX_DEPTH);
        return NULL;
    }

    map = (yn->type == YAML_MAPPING_NODE);
    pairs = map ? yn->data.mapping.pairs.start : NULL;
    n = map ? 2 * (size_t) (yn->data.mapping.pairs.top - pairs)
            : (yn->type == YAML_SEQUENCE_NODE)
              ? (size_t) (yn->data.sequence.items.top
                          - yn->data.sequence.items.start) : 0;

    /* counted before allocating: a billion laughs stops at once */
    if (n > TS_YAML_MAX_NODES - x->nnodes) {
        ts_yaml_error(x->err, x->errlen, yn->start_mark.line + 1,
                      yn->start_mark.column + 1, "more than %d nodes",
                      TS_YAML_MAX_NODES);
        return NULL;
    }

    x->nnodes += n;

    node = calloc(1, sizeof(ts_yaml_node_t));
    if (node == NULL) {
        goto nomem;
    }

    node->line = (unsigned) yn->start_mark.line + 1;
    node->column = (unsigned) yn->start_mark.column + 1;

    if (yn->type == YAML_SCALAR_NODE) {
        if (ts_yaml_scalar(x, yn, node) != 0) {
            goto failed;
        }

        return node;
    }

    node->items = calloc(n ? n : 1, sizeof(ts_yaml_node_t *));
    if (node->items == NULL) {
        goto nomem;
    }

    /* set first: free walks every item, and those not made are NULL */
    node->type = map ? TS_YAML_MAP : TS_YAML_SEQ;
    node->n = map ? n / 2 : n;

    for (i = 0; i < n; i++) {
        child = yaml_document_get_node(x->doc, !map
                    ? yn->data.sequence.items.start[i]
                    : (i % 2) ? pairs[i / 2].value : pairs[i / 2].key);

        node->items[i] = ts_yaml_convert(x, child, depth + 1);
        if (node->items[i] == NULL) {
            goto failed;
        }
    }

    return node;

nomem:

    snprintf(x->err, x->errlen, "out of memory");

failed:

    ts_yaml_free(node);

    return NULL;
}


/*
 * A scalar's text and type.  Plain scalars get the implicit types, quoted
 * and block ones are strings unless tagged ("!!int '12'"): libyaml tags
 * every untagged scalar "!!str", so that tag cannot be told from none.
 */

static int
ts_yaml_scalar(ts_yaml_ctx_t *x, yaml_node_t *yn, ts_yaml_node_t *node)
{
    size_t  len;

    len = yn->data.scalar.length;
    x->ntext += len + 1;

    if (x->ntext > TS_YAML_MAX_TEXT) {
        ts_yaml_error(x->err, x->errlen, yn->start_mark.line + 1,
                      yn->start_mark.column + 1, "more than %d bytes of text",
                      TS_YAML_MAX_TEXT);
        return -1;
    }

    node->str = malloc(len + 1);
    if (node->str == NULL) {
        snprintf(x->err, x->errlen, "out of memory");
        return -1;
    }

    memcpy(node->str, yn->data.scalar.value, len);
    node->str[len] = '\0';
    node->len = len;

    if (yn->data.scalar.style == YAML_PLAIN_SCALAR_STYLE
        || strcmp((char *) yn->tag, YAML_STR_TAG) != 0)
    {
        ts_yaml_resolve(node);

    } else {
        node->type = TS_YAML_STR;
    }

    return 0;
}


/* SnakeYAML's implicit resolvers, less base 60 and timestamps (strings) */

static void
ts_yaml_resolve(ts_yaml_node_t *node)
{
    size_t       i;
    const char  *s;

    s = node->str;

    if (s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0
        || strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0)
    {
        node->type = TS_YAML_NULL;
        return;
    }

    for (i = 0; ts_yaml_bools[i] != NULL; i++) {
        if (strcmp(s, ts_yaml_bools[i]) == 0) {
            node->type = TS_YAML_BOOL;
            node->b = (i < 9);
            return;
        }
    }

    if (ts_yaml_int(s, node)) {
        node->type = TS_YAML_INT;

    } else if (ts_yaml_float(s, &node->d)) {
        node->type = TS_YAML_FLOAT;

    } else {
        node->type = TS_YAML_STR;
    }
}


/*
 * A YAML 1.1 integer: a sign, then "0x" hex, "0b" binary, a leading 0 for
 * octal, or decimal, with '_' after the first digit.  i_bits says whether
 * it fits 32 or 64 bits (0: larger, i is 0).
 */

static int
ts_yaml_int(const char *s, ts_yaml_node_t *node)
{
    int          base;
    char         buf[80], *q;
    const char  *p, *digits;

    p = s + (s[0] == '-' || s[0] == '+');

    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'b')) {
        base = (p[1] == 'x') ? 16 : 2;
        p += 2;

    } else {
        base = (p[0] == '0' && p[1] != '\0') ? 8 : 10;
        p += (base == 8);
    }

    digits = (base == 16) ? "0123456789abcdefABCDEF_"
             : (base == 8) ? "01234567_" : (base == 2) ? "01_" : "0123456789_";

    if (p[strspn(p, digits)] != '\0' || p[strspn(p, "_")] == '\0'
        || (base == 10 && p[0] == '_'))
    {
        return 0;
    }

    q = buf;
    *q = s[0];
    q += (s[0] == '-');

    for ( /* void */ ; *p != '\0' && q < buf + sizeof(buf) - 1; p++) {
        if (*p != '_') {
            *q++ = *p;
        }
    }

    *q = '\0';
    errno = 0;
    node->i = strtoll(buf, NULL, base);

    if (*p != '\0' || errno == ERANGE) {
        node->i = 0;                            /* too many digits */
        node->i_bits = 0;

    } else {
        node->i_bits = (node->i >= INT32_MIN && node->i <= INT32_MAX) ? 32
                                                                      : 64;
    }

    return 1;
}


/*
 * A YAML 1.1 float: digits with a '.' or an exponent ("1.5", ".5", "1e3"),
 * '_' among them, [-+].inf and .nan.
 */

static int
ts_yaml_float(const char *s, double *d)
{
    char        buf[128], *q, *end;
    const char  *p;

    p = s + (s[0] == '-' || s[0] == '+');

    if (strcmp(p, ".inf") == 0 || strcmp(p, ".Inf") == 0
        || strcmp(p, ".INF") == 0)
    {
        *d = (s[0] == '-') ? -HUGE_VAL : HUGE_VAL;
        return 1;
    }

    if (strcmp(s, ".nan") == 0 || strcmp(s, ".NaN") == 0
        || strcmp(s, ".NAN") == 0)
    {
        *d = NAN;
        return 1;
    }

    if (s[strspn(s, "0123456789_.eE+-")] != '\0' || p[0] == '_'
        || strpbrk(s, ".eE") == NULL || strpbrk(s, "0123456789") == NULL)
    {
        return 0;
    }

    /* strtod reads the rest, '_' taken out; nobody writes 128 digits */
    for (q = buf; *s != '\0' && q < buf + sizeof(buf) - 1; s++) {
        if (*s != '_') {
            *q++ = *s;
        }
    }

    *q = '\0';
    *d = strtod(buf, &end);

    return (*s == '\0' && end != buf && *end == '\0');
}


/* a string key's value slot, the last one (a later duplicate wins) */

static ts_yaml_node_t **
ts_yaml_map_find(const ts_yaml_node_t *map, const char *key)
{
    size_t           i, len;
    ts_yaml_node_t  *k;

    if (map == NULL || map->type != TS_YAML_MAP) {
        return NULL;
    }

    len = strlen(key);

    for (i = map->n; i > 0; i--) {
        k = map->items[2 * i - 2];

        if (k->type == TS_YAML_STR && k->len == len
            && memcmp(k->str, key, len) == 0)
        {
            return &map->items[2 * i - 1];
        }
    }

    return NULL;
}


static void
ts_yaml_error(char *err, size_t errlen, size_t line, size_t column,
    const char *fmt, ...)
{
    int      n;
    va_list  args;

    n = snprintf(err, errlen, "line %zu, column %zu: ", line, column);

    if (n < 0 || (size_t) n >= errlen) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(err + n, errlen - (size_t) n, fmt, args);
    va_end(args);
}
