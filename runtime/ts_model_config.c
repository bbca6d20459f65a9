/*
 * ts_model_config.c: model-config.yaml, parsed by libyaml into a small
 * node tree with SnakeYAML's types, then read key by key as TorchServe's
 * ModelConfig.build does (frontend/archive/.../model/ModelConfig.java).
 */

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "ts_model_config.h"


#define TS_YAML_TAG_PREFIX  "tag:yaml.org,2002:"


typedef struct {
    char            *name;
    ts_yaml_node_t  *node;
} ts_yaml_anchor_t;


/* SnakeYAML's implicit resolvers (YAML 1.1), as POSIX extended regexes */
typedef struct {
    regex_t   re_bool;
    regex_t   re_int;
    regex_t   re_float;
    regex_t   re_null;
    regex_t   re_timestamp;
    unsigned  compiled;         /* how many of them, in that order */
} ts_yaml_resolver_t;


typedef struct {
    yaml_parser_t        parser;
    yaml_event_t         event;
    unsigned             has_event:1;
    ts_yaml_anchor_t    *anchors;
    size_t               nanchors;
    size_t               nnodes;
    size_t               naliases;      /* to collections */
    ts_yaml_resolver_t   resolver;
    char                *err;
    size_t               errlen;
} ts_yaml_composer_t;


typedef struct {
    ts_model_config_t   *cfg;
    int                  nomem;
} ts_config_ctx_t;


static const char  *ts_yaml_re_bool =
    "^(yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE"
    "|on|On|ON|off|Off|OFF)$";

static const char  *ts_yaml_re_int =
    "^([-+]?0b_*[0-1]+[0-1_]*"
    "|[-+]?0_*[0-7]+[0-7_]*"
    "|[-+]?(0|[1-9][0-9_]*)"
    "|[-+]?0x_*[0-9a-fA-F]+[0-9a-fA-F_]*"
    "|[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+)$";

static const char  *ts_yaml_re_float =
    "^([-+]?([0-9][0-9_]*)\\.[0-9_]*([eE][-+]?[0-9]+)?"
    "|[-+]?([0-9][0-9_]*)([eE][-+]?[0-9]+)"
    "|[-+]?\\.[0-9_]+([eE][-+]?[0-9]+)?"
    "|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\\.[0-9_]*"
    "|[-+]?\\.(inf|Inf|INF)"
    "|\\.(nan|NaN|NAN))$";

static const char  *ts_yaml_re_null = "^(~|null|Null|NULL| )$";

static const char  *ts_yaml_re_timestamp =
    "^([0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"
    "|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?"
    "([Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](\\.[0-9]*)?"
    "([ \t]*(Z|[-+][0-9][0-9]?(:[0-9][0-9])?))?)$";


static int ts_yaml_next(ts_yaml_composer_t *c);
static ts_yaml_node_t *ts_yaml_compose(ts_yaml_composer_t *c,
    unsigned depth);
static ts_yaml_node_t *ts_yaml_compose_scalar(ts_yaml_composer_t *c);
static ts_yaml_node_t *ts_yaml_compose_collection(ts_yaml_composer_t *c,
    unsigned depth);
static ts_yaml_node_t *ts_yaml_node_new(ts_yaml_composer_t *c,
    ts_yaml_type_e type, const yaml_mark_t *mark);
static int ts_yaml_node_push(ts_yaml_composer_t *c, ts_yaml_node_t *node,
    ts_yaml_node_t *item, size_t *cap);
static void ts_yaml_node_release(ts_yaml_node_t *node);
static int ts_yaml_anchor_add(ts_yaml_composer_t *c, const char *name,
    ts_yaml_node_t *node);
static int ts_yaml_resolve(ts_yaml_composer_t *c, ts_yaml_node_t *node,
    const char *tag, int plain, const yaml_mark_t *mark);
static int ts_yaml_resolve_int(ts_yaml_node_t *node);
static int ts_yaml_flatten(ts_yaml_composer_t *c, ts_yaml_node_t *map,
    const yaml_mark_t *mark);
static int ts_yaml_merge_into(ts_yaml_composer_t *c, ts_yaml_node_t *map,
    int preferred, ts_yaml_node_t ***kv, size_t *n, size_t *cap,
    const yaml_mark_t *mark);
static int ts_yaml_key_equal(const ts_yaml_node_t *a,
    const ts_yaml_node_t *b);
static int ts_yaml_is_merge_key(const ts_yaml_node_t *key);
static void ts_yaml_error(ts_yaml_composer_t *c, const yaml_mark_t *mark,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static const char *ts_yaml_tag_text(const char *tag, char *buf,
    size_t size);
static int ts_yaml_match(regex_t *re, const char *s);
static int ts_yaml_resolver_init(ts_yaml_resolver_t *r);
static void ts_yaml_resolver_free(ts_yaml_resolver_t *r);

static void ts_config_defaults(ts_model_config_t *cfg);
static void ts_config_apply(ts_config_ctx_t *x, const ts_yaml_node_t *key,
    const ts_yaml_node_t *v);
static void ts_config_torchrun(ts_config_ctx_t *x, const ts_yaml_node_t *map);
static int ts_config_int(ts_config_ctx_t *x, const ts_yaml_node_t *v,
    const char *key, const char *should, int *out);
static int ts_config_bool(ts_config_ctx_t *x, const ts_yaml_node_t *v,
    const char *key, ts_config_bool_t *out);
static int ts_config_str(ts_config_ctx_t *x, const ts_yaml_node_t *v,
    const char *key, const char *should, ts_config_str_t *out);
static void ts_config_warn(ts_config_ctx_t *x, const ts_yaml_node_t *v,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static const char *ts_config_text(const ts_yaml_node_t *v);


int
ts_model_config_parse(const char *yaml, size_t len, ts_model_config_t *cfg,
    char *err, size_t errlen)
{
    int                  rc;
    size_t               i;
    ts_yaml_node_t      *root;
    ts_config_ctx_t      x;
    ts_yaml_composer_t   c;

    memset(cfg, 0, sizeof(ts_model_config_t));
    memset(&c, 0, sizeof(ts_yaml_composer_t));

    c.err = err;
    c.errlen = errlen;
    root = NULL;
    rc = -1;

    if (ts_yaml_resolver_init(&c.resolver) != 0) {
        /* only when out of memory: the patterns are fixed */
        snprintf(err, errlen, "cannot compile the YAML resolver patterns");
        ts_yaml_resolver_free(&c.resolver);
        return -1;
    }

    if (!yaml_parser_initialize(&c.parser)) {
        snprintf(err, errlen, "out of memory");
        ts_yaml_resolver_free(&c.resolver);
        return -1;
    }

    yaml_parser_set_input_string(&c.parser, (const unsigned char *) yaml,
                                 len);

    /* stream start, then a document or the end of the stream */
    if (ts_yaml_next(&c) != 0) {
        goto failed;
    }

    if (ts_yaml_next(&c) != 0) {
        goto failed;
    }

    if (c.event.type == YAML_DOCUMENT_START_EVENT) {

        if (ts_yaml_next(&c) != 0) {
            goto failed;
        }

        root = ts_yaml_compose(&c, 0);
        if (root == NULL) {
            goto failed;
        }

        /* the document's end, then the stream's: load() takes one */
        if (ts_yaml_next(&c) != 0 || ts_yaml_next(&c) != 0) {
            goto failed;
        }

        if (c.event.type != YAML_STREAM_END_EVENT) {
            ts_yaml_error(&c, &c.event.start_mark, "expected a single "
                          "document in the stream, but found another "
                          "document");
            goto failed;
        }

        if (root->type == TS_YAML_NULL) {
            /* "~" or an empty document: nothing configured */
            ts_yaml_node_release(root);
            root = NULL;

        } else if (root->type != TS_YAML_MAP) {
            snprintf(err, errlen, "line %u, column %u: the top level is "
                     "a %s, not a mapping of keys to values", root->line,
                     root->column, ts_yaml_type_name(root->type));
            goto failed;
        }
    }

    cfg->root = root;
    root = NULL;

    memset(&x, 0, sizeof(ts_config_ctx_t));
    x.cfg = cfg;

    ts_config_defaults(cfg);

    if (cfg->root != NULL) {
        for (i = 0; i < cfg->root->n; i++) {
            ts_config_apply(&x, cfg->root->items[2 * i],
                            cfg->root->items[2 * i + 1]);
        }
    }

    if (x.nomem) {
        snprintf(err, errlen, "out of memory");
        ts_model_config_clear(cfg);
        goto failed;
    }

    rc = 0;

failed:

    if (root != NULL) {
        ts_yaml_node_release(root);
    }

    if (c.has_event) {
        yaml_event_delete(&c.event);
    }

    for (i = 0; i < c.nanchors; i++) {
        free(c.anchors[i].name);
        ts_yaml_node_release(c.anchors[i].node);
    }

    free(c.anchors);
    yaml_parser_delete(&c.parser);
    ts_yaml_resolver_free(&c.resolver);

    return rc;
}


void
ts_model_config_clear(ts_model_config_t *cfg)
{
    size_t  i;

    free(cfg->device_ids.ids);
    free(cfg->torchrun.rdzv_backend.value);
    free(cfg->torchrun.rdzv_endpoint.value);
    free(cfg->torchrun.rdzv_conf.value);

    if (cfg->root != NULL) {
        ts_yaml_node_release(cfg->root);
    }

    for (i = 0; i < cfg->nwarnings; i++) {
        free(cfg->warnings[i]);
    }

    free(cfg->warnings);

    memset(cfg, 0, sizeof(ts_model_config_t));
}


const ts_yaml_node_t *
ts_model_config_get(const ts_model_config_t *cfg, const char *key)
{
    return ts_yaml_map_get(cfg->root, key);
}


const ts_yaml_node_t *
ts_yaml_map_get(const ts_yaml_node_t *map, const char *key)
{
    size_t                 i;
    const ts_yaml_node_t  *k;

    if (map == NULL || map->type != TS_YAML_MAP) {
        return NULL;
    }

    /* keys are unique once composed: a later duplicate replaced the value */
    for (i = 0; i < map->n; i++) {
        k = map->items[2 * i];

        if (k->type == TS_YAML_STR && strcmp(k->str, key) == 0) {
            return map->items[2 * i + 1];
        }
    }

    return NULL;
}


const char *
ts_yaml_type_name(ts_yaml_type_e type)
{
    switch (type) {

    case TS_YAML_NULL:
        return "null";

    case TS_YAML_BOOL:
        return "boolean";

    case TS_YAML_INT:
        return "integer";

    case TS_YAML_FLOAT:
        return "float";

    case TS_YAML_STR:
        return "string";

    case TS_YAML_TIMESTAMP:
        return "timestamp";

    case TS_YAML_SEQ:
        return "list";

    default:
        return "mapping";
    }
}


/* --- composing the node tree -------------------------------------------- */


static int
ts_yaml_next(ts_yaml_composer_t *c)
{
    const char  *problem;

    if (c->has_event) {
        yaml_event_delete(&c->event);
        c->has_event = 0;
    }

    if (!yaml_parser_parse(&c->parser, &c->event)) {
        problem = c->parser.problem ? c->parser.problem : "syntax error";

        if (c->parser.context != NULL) {
            snprintf(c->err, c->errlen, "line %zu, column %zu: %s %s",
                     c->parser.problem_mark.line + 1,
                     c->parser.problem_mark.column + 1,
                     c->parser.context, problem);

        } else {
            snprintf(c->err, c->errlen, "line %zu, column %zu: %s",
                     c->parser.problem_mark.line + 1,
                     c->parser.problem_mark.column + 1, problem);
        }

        return -1;
    }

    c->has_event = 1;

    return 0;
}


/* composes the node whose first event is c->event */

static ts_yaml_node_t *
ts_yaml_compose(ts_yaml_composer_t *c, unsigned depth)
{
    size_t           i;
    const char      *name;
    ts_yaml_node_t  *node;

    if (depth >= TS_MODEL_CONFIG_MAX_DEPTH) {
        ts_yaml_error(c, &c->event.start_mark, "nested more than %d deep",
                      TS_MODEL_CONFIG_MAX_DEPTH);
        return NULL;
    }

    switch (c->event.type) {

    case YAML_ALIAS_EVENT:
        name = (const char *) c->event.data.alias.anchor;

        for (i = c->nanchors; i > 0; i--) {
            if (strcmp(c->anchors[i - 1].name, name) == 0) {
                break;
            }
        }

        if (i == 0) {
            ts_yaml_error(c, &c->event.start_mark, "found undefined alias "
                          "\"%s\"", name);
            return NULL;
        }

        node = c->anchors[i - 1].node;

        /* shared, never copied, but bounded as SnakeYAML bounds them */
        if ((node->type == TS_YAML_SEQ || node->type == TS_YAML_MAP)
            && ++c->naliases > TS_MODEL_CONFIG_MAX_ALIASES)
        {
            ts_yaml_error(c, &c->event.start_mark, "more than %d aliases "
                          "to lists or mappings",
                          TS_MODEL_CONFIG_MAX_ALIASES);
            return NULL;
        }

        node->refs++;
        return node;

    case YAML_SCALAR_EVENT:
        return ts_yaml_compose_scalar(c);

    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        return ts_yaml_compose_collection(c, depth);

    default:
        ts_yaml_error(c, &c->event.start_mark, "unexpected YAML event %d",
                      (int) c->event.type);
        return NULL;
    }
}


static ts_yaml_node_t *
ts_yaml_compose_scalar(ts_yaml_composer_t *c)
{
    int              plain;
    size_t           len;
    const char      *tag, *anchor;
    ts_yaml_node_t  *node;

    node = ts_yaml_node_new(c, TS_YAML_STR, &c->event.start_mark);
    if (node == NULL) {
        return NULL;
    }

    len = c->event.data.scalar.length;

    node->str = malloc(len + 1);
    if (node->str == NULL) {
        snprintf(c->err, c->errlen, "out of memory");
        goto failed;
    }

    memcpy(node->str, c->event.data.scalar.value, len);
    node->str[len] = '\0';
    node->len = len;

    tag = (const char *) c->event.data.scalar.tag;
    plain = c->event.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    node->plain = plain && tag == NULL;

    if (ts_yaml_resolve(c, node, tag, plain, &c->event.start_mark) != 0) {
        goto failed;
    }

    anchor = (const char *) c->event.data.scalar.anchor;

    if (anchor != NULL && ts_yaml_anchor_add(c, anchor, node) != 0) {
        goto failed;
    }

    return node;

failed:

    ts_yaml_node_release(node);

    return NULL;
}


static ts_yaml_node_t *
ts_yaml_compose_collection(ts_yaml_composer_t *c, unsigned depth)
{
    int                 map;
    char               *anchor, buf[128];
    size_t              cap;
    const char         *tag, *want;
    yaml_mark_t         mark;
    ts_yaml_node_t     *node, *item;
    yaml_event_type_t   end;

    map = c->event.type == YAML_MAPPING_START_EVENT;
    mark = c->event.start_mark;
    end = map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;

    if (map) {
        tag = (const char *) c->event.data.mapping_start.tag;
        anchor = (char *) c->event.data.mapping_start.anchor;

    } else {
        tag = (const char *) c->event.data.sequence_start.tag;
        anchor = (char *) c->event.data.sequence_start.anchor;
    }

    want = map ? TS_YAML_TAG_PREFIX "map" : TS_YAML_TAG_PREFIX "seq";

    if (tag != NULL && strcmp(tag, "!") != 0 && strcmp(tag, want) != 0) {
        ts_yaml_error(c, &mark, "unsupported tag \"%s\" on a %s",
                      ts_yaml_tag_text(tag, buf, sizeof(buf)),
                      map ? "mapping" : "list");
        return NULL;
    }

    /* the anchor is registered when the node is complete: keep its name */
    if (anchor != NULL) {
        anchor = strdup(anchor);
        if (anchor == NULL) {
            snprintf(c->err, c->errlen, "out of memory");
            return NULL;
        }
    }

    /* a list until complete: n counts items, as release expects */
    node = ts_yaml_node_new(c, TS_YAML_SEQ, &mark);
    if (node == NULL) {
        free(anchor);
        return NULL;
    }

    cap = 0;

    for ( ;; ) {
        if (ts_yaml_next(c) != 0) {
            goto failed;
        }

        if (c->event.type == end) {
            break;
        }

        item = ts_yaml_compose(c, depth + 1);
        if (item == NULL) {
            goto failed;
        }

        if (ts_yaml_node_push(c, node, item, &cap) != 0) {
            goto failed;
        }
    }

    if (map) {
        /* keys and values interleaved: n pairs from here on */
        node->type = TS_YAML_MAP;
        node->n /= 2;

        if (ts_yaml_flatten(c, node, &mark) != 0) {
            goto failed;
        }
    }

    if (anchor != NULL) {
        if (ts_yaml_anchor_add(c, anchor, node) != 0) {
            goto failed;
        }

        free(anchor);
    }

    return node;

failed:

    free(anchor);
    ts_yaml_node_release(node);

    return NULL;
}


static ts_yaml_node_t *
ts_yaml_node_new(ts_yaml_composer_t *c, ts_yaml_type_e type,
    const yaml_mark_t *mark)
{
    ts_yaml_node_t  *node;

    if (++c->nnodes > TS_MODEL_CONFIG_MAX_NODES) {
        ts_yaml_error(c, mark, "more than %d nodes",
                      TS_MODEL_CONFIG_MAX_NODES);
        return NULL;
    }

    node = calloc(1, sizeof(ts_yaml_node_t));
    if (node == NULL) {
        snprintf(c->err, c->errlen, "out of memory");
        return NULL;
    }

    node->type = type;
    node->refs = 1;
    node->line = (unsigned) mark->line + 1;
    node->column = (unsigned) mark->column + 1;

    return node;
}


/* takes item over, whatever happens */

static int
ts_yaml_node_push(ts_yaml_composer_t *c, ts_yaml_node_t *node,
    ts_yaml_node_t *item, size_t *cap)
{
    size_t            ncap;
    ts_yaml_node_t  **items;

    if (node->n == *cap) {
        ncap = *cap ? *cap * 2 : 8;

        items = realloc(node->items, ncap * sizeof(ts_yaml_node_t *));
        if (items == NULL) {
            snprintf(c->err, c->errlen, "out of memory");
            ts_yaml_node_release(item);
            return -1;
        }

        node->items = items;
        *cap = ncap;
    }

    node->items[node->n++] = item;

    return 0;
}


static void
ts_yaml_node_release(ts_yaml_node_t *node)
{
    size_t  i, n;

    if (--node->refs > 0) {
        return;
    }

    n = node->type == TS_YAML_MAP ? 2 * node->n : node->n;

    if (node->type == TS_YAML_MAP || node->type == TS_YAML_SEQ) {
        for (i = 0; i < n; i++) {
            ts_yaml_node_release(node->items[i]);
        }
    }

    free(node->items);
    free(node->str);
    free(node);
}


/* a later anchor of the same name hides an earlier one, as in YAML */

static int
ts_yaml_anchor_add(ts_yaml_composer_t *c, const char *name,
    ts_yaml_node_t *node)
{
    char              *copy;
    ts_yaml_anchor_t  *anchors;

    anchors = realloc(c->anchors,
                      (c->nanchors + 1) * sizeof(ts_yaml_anchor_t));
    if (anchors == NULL) {
        snprintf(c->err, c->errlen, "out of memory");
        return -1;
    }

    c->anchors = anchors;

    copy = strdup(name);
    if (copy == NULL) {
        snprintf(c->err, c->errlen, "out of memory");
        return -1;
    }

    node->refs++;

    c->anchors[c->nanchors].name = copy;
    c->anchors[c->nanchors].node = node;
    c->nanchors++;

    return 0;
}


/*
 * The type of a scalar: an explicit tag ("!!int 3"), a non-specific "!"
 * (a string), a quoted or block scalar (a string), or a plain scalar,
 * typed by the first resolver of its first character that matches.
 */

static int
ts_yaml_resolve(ts_yaml_composer_t *c, ts_yaml_node_t *node,
    const char *tag, int plain, const yaml_mark_t *mark)
{
    char                 first, buf[128];
    const char          *s, *name;
    ts_yaml_resolver_t  *r;

    r = &c->resolver;
    s = node->str;
    first = s[0];

    if (tag != NULL && strcmp(tag, "!") == 0) {
        node->type = TS_YAML_STR;
        return 0;
    }

    if (tag != NULL) {
        if (strncmp(tag, TS_YAML_TAG_PREFIX, sizeof(TS_YAML_TAG_PREFIX) - 1)
            != 0)
        {
            ts_yaml_error(c, mark, "unsupported tag \"%s\"",
                          ts_yaml_tag_text(tag, buf, sizeof(buf)));
            return -1;
        }

        name = tag + sizeof(TS_YAML_TAG_PREFIX) - 1;

        if (strcmp(name, "str") == 0) {
            node->type = TS_YAML_STR;
            return 0;
        }

        if (strcmp(name, "null") == 0) {
            node->type = TS_YAML_NULL;
            return 0;
        }

        if (strcmp(name, "bool") == 0 && ts_yaml_match(&r->re_bool, s)) {
            goto bool;
        }

        if (strcmp(name, "int") == 0 && ts_yaml_match(&r->re_int, s)) {
            goto integer;
        }

        if (strcmp(name, "float") == 0
            && (ts_yaml_match(&r->re_float, s)
                || ts_yaml_match(&r->re_int, s)))
        {
            goto real;
        }

        if (strcmp(name, "timestamp") == 0
            && ts_yaml_match(&r->re_timestamp, s))
        {
            node->type = TS_YAML_TIMESTAMP;
            return 0;
        }

        ts_yaml_error(c, mark, "cannot read \"%s\" as !!%s", s, name);
        return -1;
    }

    if (!plain) {
        node->type = TS_YAML_STR;
        return 0;
    }

    if (first == '\0') {
        node->type = TS_YAML_NULL;
        return 0;
    }

    if (strchr("yYnNtTfFoO", first) && ts_yaml_match(&r->re_bool, s)) {
        goto bool;
    }

    if (strchr("-+0123456789", first) && ts_yaml_match(&r->re_int, s)) {
        goto integer;
    }

    if (strchr("-+0123456789.", first) && ts_yaml_match(&r->re_float, s)) {
        goto real;
    }

    if (strchr("~nN", first) && ts_yaml_match(&r->re_null, s)) {
        node->type = TS_YAML_NULL;
        return 0;
    }

    if (strchr("0123456789", first) && ts_yaml_match(&r->re_timestamp, s)) {
        node->type = TS_YAML_TIMESTAMP;
        return 0;
    }

    /* "<<" stays a string here: only a mapping key merges */
    node->type = TS_YAML_STR;
    return 0;

bool:

    node->type = TS_YAML_BOOL;
    node->b = (first == 'y' || first == 'Y' || first == 't' || first == 'T'
               || ((first == 'o' || first == 'O')
                   && (s[1] == 'n' || s[1] == 'N')));
    return 0;

integer:

    node->type = TS_YAML_INT;
    return ts_yaml_resolve_int(node);

real:

    node->type = TS_YAML_FLOAT;

    {
        char        *copy, *p, *q;
        double       sign, value, part, scale;

        copy = strdup(s);
        if (copy == NULL) {
            snprintf(c->err, c->errlen, "out of memory");
            return -1;
        }

        for (p = q = copy; *p != '\0'; p++) {
            if (*p != '_') {
                *q++ = *p;
            }
        }

        *q = '\0';

        p = copy;
        sign = 1.0;

        if (*p == '-' || *p == '+') {
            sign = *p == '-' ? -1.0 : 1.0;
            p++;
        }

        if (strchr(p, ':') != NULL) {
            /* base 60: "1:30.5" is 90.5 */
            value = 0.0;

            for (q = strtok(p, ":"); q != NULL; q = strtok(NULL, ":")) {
                part = strtod(q, NULL);
                scale = 60.0;
                value = value * scale + part;
            }

            node->d = sign * value;

        } else if (strcasecmp(p, ".inf") == 0) {
            node->d = sign * HUGE_VAL;

        } else if (strcasecmp(p, ".nan") == 0) {
            node->d = NAN;

        } else {
            node->d = sign * strtod(p, NULL);
        }

        free(copy);
    }

    return 0;
}


/*
 * SnakeYAML's integer: '_' dropped, "0b" binary, "0x" hex, a leading 0
 * octal, ':' base 60; an Integer when it fits 32 bits, else a Long, else
 * a BigInteger.
 */

static int
ts_yaml_resolve_int(ts_yaml_node_t *node)
{
    int          neg, base, overflow;
    uint64_t     v, digit, part;
    const char  *p;

    p = node->str;
    neg = 0;

    if (*p == '-' || *p == '+') {
        neg = *p == '-';
        p++;
    }

    base = 10;

    if (p[0] == '0' && p[1] == 'b') {
        base = 2;
        p += 2;

    } else if (p[0] == '0' && p[1] == 'x') {
        base = 16;
        p += 2;

    } else if (p[0] == '0' && p[1] != '\0') {
        base = 8;
        p += 1;
    }

    v = 0;
    part = 0;
    overflow = 0;

    for ( ; *p != '\0'; p++) {
        if (*p == '_') {
            continue;
        }

        if (*p == ':') {
            /* base 60: the value so far is the next higher digit */
            v = v * 60 + part;
            part = 0;
            continue;
        }

        if (*p >= '0' && *p <= '9') {
            digit = (uint64_t) (*p - '0');

        } else if (*p >= 'a' && *p <= 'f') {
            digit = (uint64_t) (*p - 'a' + 10);

        } else {
            digit = (uint64_t) (*p - 'A' + 10);
        }

        if (part > (UINT64_MAX - digit) / (uint64_t) base) {
            overflow = 1;
            break;
        }

        part = part * (uint64_t) base + digit;
    }

    if (!overflow && strchr(node->str, ':') != NULL) {
        if (v > (UINT64_MAX - part) / 60) {
            overflow = 1;

        } else {
            v = v * 60 + part;
        }

    } else {
        v = part;
    }

    if (overflow || v > (uint64_t) INT64_MAX + (neg ? 1 : 0)) {
        node->i_bits = 0;
        node->i = 0;
        return 0;
    }

    node->i = neg ? (int64_t) (0 - v) : (int64_t) v;
    node->i_bits = (node->i >= INT32_MIN && node->i <= INT32_MAX) ? 32 : 64;

    return 0;
}


/*
 * Merge keys ("<<: *base", "<<: [*a, *b]") and duplicates, as SnakeYAML
 * builds its LinkedHashMap: a key keeps the position it was first seen
 * at; the mapping's own later value wins over an earlier one, and over
 * any merged one; among merged mappings the first one wins.
 */

static int
ts_yaml_flatten(ts_yaml_composer_t *c, ts_yaml_node_t *map,
    const yaml_mark_t *mark)
{
    size_t            i, n, cap;
    ts_yaml_node_t  **kv;

    kv = NULL;
    n = 0;
    cap = 0;

    if (ts_yaml_merge_into(c, map, 1, &kv, &n, &cap, mark) != 0) {
        for (i = 0; i < 2 * n; i++) {
            ts_yaml_node_release(kv[i]);
        }

        free(kv);
        return -1;
    }

    for (i = 0; i < 2 * map->n; i++) {
        ts_yaml_node_release(map->items[i]);
    }

    free(map->items);

    map->items = kv;
    map->n = n;

    return 0;
}


static int
ts_yaml_merge_into(ts_yaml_composer_t *c, ts_yaml_node_t *map,
    int preferred, ts_yaml_node_t ***kv, size_t *n, size_t *cap,
    const yaml_mark_t *mark)
{
    size_t            i, j, k, ncap;
    ts_yaml_node_t   *key, *value, *sub, **grown;

    for (i = 0; i < map->n; i++) {
        key = map->items[2 * i];
        value = map->items[2 * i + 1];

        if (ts_yaml_is_merge_key(key)) {

            if (value->type == TS_YAML_MAP) {
                if (ts_yaml_merge_into(c, value, 0, kv, n, cap, mark) != 0) {
                    return -1;
                }

                continue;
            }

            if (value->type != TS_YAML_SEQ) {
                ts_yaml_error(c, mark, "expected a mapping or list of "
                              "mappings for merging, but found a %s "
                              "(line %u, column %u)",
                              ts_yaml_type_name(value->type), value->line,
                              value->column);
                return -1;
            }

            for (k = 0; k < value->n; k++) {
                sub = value->items[k];

                if (sub->type != TS_YAML_MAP) {
                    ts_yaml_error(c, mark, "expected a mapping for "
                                  "merging, but found a %s (line %u, "
                                  "column %u)", ts_yaml_type_name(sub->type),
                                  sub->line, sub->column);
                    return -1;
                }

                if (ts_yaml_merge_into(c, sub, 0, kv, n, cap, mark) != 0) {
                    return -1;
                }
            }

            continue;
        }

        for (j = 0; j < *n; j++) {
            if (ts_yaml_key_equal((*kv)[2 * j], key)) {
                break;
            }
        }

        if (j < *n) {
            if (preferred) {
                value->refs++;
                ts_yaml_node_release((*kv)[2 * j + 1]);
                (*kv)[2 * j + 1] = value;
            }

            continue;
        }

        if (*n == *cap) {
            ncap = *cap ? *cap * 2 : 8;

            grown = realloc(*kv, 2 * ncap * sizeof(ts_yaml_node_t *));
            if (grown == NULL) {
                snprintf(c->err, c->errlen, "out of memory");
                return -1;
            }

            *kv = grown;
            *cap = ncap;
        }

        key->refs++;
        value->refs++;

        (*kv)[2 * *n] = key;
        (*kv)[2 * *n + 1] = value;
        (*n)++;
    }

    return 0;
}


static int
ts_yaml_is_merge_key(const ts_yaml_node_t *key)
{
    /* a plain "<<" resolves to !!merge; quoted, it is a string key */
    return key->type == TS_YAML_STR && key->plain && key->len == 2
           && key->str[0] == '<' && key->str[1] == '<';
}


static int
ts_yaml_key_equal(const ts_yaml_node_t *a, const ts_yaml_node_t *b)
{
    if (a->type != b->type) {
        return 0;
    }

    switch (a->type) {

    case TS_YAML_NULL:
        return 1;

    case TS_YAML_BOOL:
        return a->b == b->b;

    case TS_YAML_INT:
        if (a->i_bits == 0 || b->i_bits == 0) {
            return a->i_bits == b->i_bits && strcmp(a->str, b->str) == 0;
        }

        return a->i == b->i;

    case TS_YAML_FLOAT:
        return a->d == b->d;

    case TS_YAML_STR:
    case TS_YAML_TIMESTAMP:
        return a->len == b->len && memcmp(a->str, b->str, a->len) == 0;

    default:
        return a == b;
    }
}


static void
ts_yaml_error(ts_yaml_composer_t *c, const yaml_mark_t *mark,
    const char *fmt, ...)
{
    int      n;
    va_list  args;

    n = snprintf(c->err, c->errlen, "line %zu, column %zu: ",
                 mark->line + 1, mark->column + 1);

    if (n < 0 || (size_t) n >= c->errlen) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(c->err + n, c->errlen - (size_t) n, fmt, args);
    va_end(args);
}


/* "tag:yaml.org,2002:map" is written "!!map" in a file */

static const char *
ts_yaml_tag_text(const char *tag, char *buf, size_t size)
{
    if (strncmp(tag, TS_YAML_TAG_PREFIX, sizeof(TS_YAML_TAG_PREFIX) - 1)
        == 0)
    {
        snprintf(buf, size, "!!%s", tag + sizeof(TS_YAML_TAG_PREFIX) - 1);
        return buf;
    }

    return tag;
}


static int
ts_yaml_match(regex_t *re, const char *s)
{
    return regexec(re, s, 0, NULL, 0) == 0;
}


static int
ts_yaml_resolver_init(ts_yaml_resolver_t *r)
{
    size_t        i;
    regex_t      *re[5];
    const char   *pattern[5];

    re[0] = &r->re_bool;
    re[1] = &r->re_int;
    re[2] = &r->re_float;
    re[3] = &r->re_null;
    re[4] = &r->re_timestamp;

    pattern[0] = ts_yaml_re_bool;
    pattern[1] = ts_yaml_re_int;
    pattern[2] = ts_yaml_re_float;
    pattern[3] = ts_yaml_re_null;
    pattern[4] = ts_yaml_re_timestamp;

    for (i = 0; i < 5; i++) {
        if (regcomp(re[i], pattern[i], REG_EXTENDED | REG_NOSUB) != 0) {
            return -1;
        }

        r->compiled++;
    }

    return 0;
}


static void
ts_yaml_resolver_free(ts_yaml_resolver_t *r)
{
    size_t    i;
    regex_t  *re[5];

    re[0] = &r->re_bool;
    re[1] = &r->re_int;
    re[2] = &r->re_float;
    re[3] = &r->re_null;
    re[4] = &r->re_timestamp;

    /* only the compiled ones: regfree of the others is undefined */
    for (i = 0; i < r->compiled; i++) {
        regfree(re[i]);
    }

    r->compiled = 0;
}


/* --- TorchServe's keys --------------------------------------------------- */


typedef enum {
    TS_CONFIG_ANY = 0,          /* taken as it is */
    TS_CONFIG_MIN0,             /* Math.max(0, v) */
    TS_CONFIG_MIN1,             /* Math.max(1, v) */
    TS_CONFIG_NEG_IGNORED,      /* v < 0: warned and ignored */
    TS_CONFIG_NONPOS_IGNORED    /* v <= 0: warned and ignored */
} ts_config_rule_e;


typedef struct {
    const char        *key;
    size_t             offset;
    int                is_long;     /* a ts_config_long_t */
    ts_config_rule_e   rule;
    const char        *should;      /* TorchServe's wording */
} ts_config_int_field_t;


typedef struct {
    const char  *key;
    size_t       offset;
} ts_config_bool_field_t;


static const ts_config_int_field_t  ts_config_int_fields[] = {
    { "minWorkers", offsetof(ts_model_config_t, min_workers), 0,
      TS_CONFIG_MIN1, "should be integer" },
    { "maxWorkers", offsetof(ts_model_config_t, max_workers), 0,
      TS_CONFIG_NEG_IGNORED, "should be integer" },
    { "batchSize", offsetof(ts_model_config_t, batch_size), 0,
      TS_CONFIG_MIN1, "should be integer" },
    { "maxBatchDelay", offsetof(ts_model_config_t, max_batch_delay), 0,
      TS_CONFIG_NEG_IGNORED, "should be integer" },
    { "responseTimeout", offsetof(ts_model_config_t, response_timeout), 0,
      TS_CONFIG_NONPOS_IGNORED, "should be integer" },
    { "startupTimeout", offsetof(ts_model_config_t, startup_timeout), 0,
      TS_CONFIG_NONPOS_IGNORED, "should be integer" },
    { "parallelLevel", offsetof(ts_model_config_t, parallel_level), 0,
      TS_CONFIG_NEG_IGNORED, "should be integer" },
    { "maxRetryTimeoutInSec",
      offsetof(ts_model_config_t, max_retry_timeout_in_sec), 0,
      TS_CONFIG_MIN0, "should be integer" },
    { "clientTimeoutInMills",
      offsetof(ts_model_config_t, client_timeout_in_mills), 1,
      TS_CONFIG_MIN0, "should be positive long" },
    { "jobQueueSize", offsetof(ts_model_config_t, job_queue_size), 0,
      TS_CONFIG_MIN0, "should be positive int" },
    { "sequenceMaxIdleMSec",
      offsetof(ts_model_config_t, sequence_max_idle_msec), 1,
      TS_CONFIG_MIN0, "should be positive int" },
    { "sequenceTimeoutMSec",
      offsetof(ts_model_config_t, sequence_timeout_msec), 1,
      TS_CONFIG_MIN0, "should be positive int" },
    { "maxSequenceJobQueueSize",
      offsetof(ts_model_config_t, max_sequence_job_queue_size), 0,
      TS_CONFIG_MIN1, "should be positive int" },
    { "maxNumSequence", offsetof(ts_model_config_t, max_num_sequence), 0,
      TS_CONFIG_MIN1, "should be positive int" },
    { NULL, 0, 0, TS_CONFIG_ANY, NULL }
};


static const ts_config_bool_field_t  ts_config_bool_fields[] = {
    { "useJobTicket", offsetof(ts_model_config_t, use_job_ticket) },
    { "continuousBatching",
      offsetof(ts_model_config_t, continuous_batching) },
    { "sequenceBatching", offsetof(ts_model_config_t, sequence_batching) },
    { "asyncCommunication",
      offsetof(ts_model_config_t, async_communication) },
    { "useVenv", offsetof(ts_model_config_t, use_venv) },
    { NULL, 0 }
};


static const char  *ts_config_parallel_names[] = {
    "", "pp", "tp", "pptp", "custom", NULL
};


static void
ts_config_defaults(ts_model_config_t *cfg)
{
    cfg->response_timeout.value = 120;
    cfg->startup_timeout.value = 120;
    cfg->max_retry_timeout_in_sec.value = 300;
    cfg->max_sequence_job_queue_size.value = 1;
    cfg->max_num_sequence.value = 1;

    cfg->torchrun.nnodes.value = 1;
    cfg->torchrun.nproc_per_node.value = 1;
    cfg->torchrun.monitor_interval.value = 5;
    cfg->torchrun.omp_number_threads.value = 1;
}


static void
ts_config_apply(ts_config_ctx_t *x, const ts_yaml_node_t *key,
    const ts_yaml_node_t *v)
{
    int                           n, *ids;
    size_t                        i;
    const char                   *k;
    ts_config_int_t              *f;
    ts_config_long_t             *fl;
    ts_model_config_t            *cfg;
    const ts_config_int_field_t  *fi;

    cfg = x->cfg;

    /* TorchServe's keys are strings; others are the handler's business */
    if (key->type != TS_YAML_STR) {
        return;
    }

    k = key->str;

    for (fi = ts_config_int_fields; fi->key != NULL; fi++) {
        if (strcmp(k, fi->key) != 0) {
            continue;
        }

        if (ts_config_int(x, v, k, fi->should, &n) != 0) {
            return;
        }

        switch (fi->rule) {

        case TS_CONFIG_MIN0:
            n = n < 0 ? 0 : n;
            break;

        case TS_CONFIG_MIN1:
            n = n < 1 ? 1 : n;
            break;

        case TS_CONFIG_NEG_IGNORED:
            if (n < 0) {
                ts_config_warn(x, v, "invalid %s: %d (ignored)", k, n);
                return;
            }
            break;

        case TS_CONFIG_NONPOS_IGNORED:
            if (n <= 0) {
                ts_config_warn(x, v, "invalid %s: %d (ignored)", k, n);
                return;
            }
            break;

        default:
            break;
        }

        if (fi->is_long) {
            fl = (ts_config_long_t *) ((char *) cfg + fi->offset);
            fl->set = 1;
            fl->value = n;

        } else {
            f = (ts_config_int_t *) ((char *) cfg + fi->offset);
            f->set = 1;
            f->value = n;
        }

        return;
    }

    for (i = 0; ts_config_bool_fields[i].key != NULL; i++) {
        if (strcmp(k, ts_config_bool_fields[i].key) == 0) {
            ts_config_bool(x, v, k, (ts_config_bool_t *)
                           ((char *) cfg + ts_config_bool_fields[i].offset));
            return;
        }
    }

    if (strcmp(k, "deviceType") == 0) {
        if (v->type != TS_YAML_STR) {
            ts_config_warn(x, v, "invalid deviceType: %s, should be cpu, or "
                           "gpu (ignored)", ts_config_text(v));
            return;
        }

        /* DeviceType.get: compared in lower case; unknown is NONE */
        cfg->device_type.set = 0;
        cfg->device_type.value = TS_DEVICE_NONE;

        if (strcasecmp(v->str, "cpu") == 0) {
            cfg->device_type.set = 1;
            cfg->device_type.value = TS_DEVICE_CPU;

        } else if (strcasecmp(v->str, "gpu") == 0) {
            cfg->device_type.set = 1;
            cfg->device_type.value = TS_DEVICE_GPU;

        } else if (v->str[0] != '\0') {
            ts_config_warn(x, v, "invalid deviceType: %s, should be cpu, or "
                           "gpu (ignored)", v->str);
        }

        return;
    }

    if (strcmp(k, "parallelType") == 0) {
        if (v->type != TS_YAML_STR) {
            ts_config_warn(x, v, "invalid parallelType: %s, should be pp, "
                           "tp, or pptp (ignored)", ts_config_text(v));
            return;
        }

        cfg->parallel_type.set = 0;
        cfg->parallel_type.value = TS_PARALLEL_NONE;

        for (i = 0; ts_config_parallel_names[i] != NULL; i++) {
            if (strcasecmp(v->str, ts_config_parallel_names[i]) == 0) {
                cfg->parallel_type.value = (ts_parallel_type_e) i;
                cfg->parallel_type.set = i != TS_PARALLEL_NONE;
                return;
            }
        }

        ts_config_warn(x, v, "invalid parallelType: %s, should be pp, tp, "
                       "or pptp (ignored)", v->str);
        return;
    }

    if (strcmp(k, "deviceIds") == 0) {
        if (v->type != TS_YAML_SEQ) {
            ts_config_warn(x, v, "invalid deviceIds: %s, should be list of "
                           "integer (ignored)", ts_config_text(v));
            return;
        }

        /* one item that is not an Integer drops the whole list */
        free(cfg->device_ids.ids);
        cfg->device_ids.ids = NULL;
        cfg->device_ids.n = 0;
        cfg->device_ids.set = 0;

        for (i = 0; i < v->n; i++) {
            if (v->items[i]->type != TS_YAML_INT
                || v->items[i]->i_bits != 32)
            {
                ts_config_warn(x, v->items[i], "invalid deviceIds: %s "
                               "(the list is ignored)",
                               ts_config_text(v->items[i]));
                return;
            }
        }

        ids = malloc((v->n ? v->n : 1) * sizeof(int));
        if (ids == NULL) {
            x->nomem = 1;
            return;
        }

        for (i = 0; i < v->n; i++) {
            ids[i] = (int) v->items[i]->i;
        }

        cfg->device_ids.ids = ids;
        cfg->device_ids.n = v->n;
        cfg->device_ids.set = 1;
        return;
    }

    if (strcmp(k, "torchrun") == 0) {
        if (v->type != TS_YAML_MAP) {
            ts_config_warn(x, v, "invalid torchrun: %s, should be Torchrun "
                           "parameters (ignored)", ts_config_text(v));
            return;
        }

        ts_config_torchrun(x, v);
        return;
    }

    /* anything else is for the handler: kept in cfg->root */
}


static void
ts_config_torchrun(ts_config_ctx_t *x, const ts_yaml_node_t *map)
{
    int                    n;
    size_t                 i;
    const char            *k;
    ts_config_torchrun_t  *t;
    const ts_yaml_node_t  *key, *v;

    t = &x->cfg->torchrun;

    /* a new TorchRun each time, as TorchServe builds one per key */
    free(t->rdzv_backend.value);
    free(t->rdzv_endpoint.value);
    free(t->rdzv_conf.value);
    memset(t, 0, sizeof(ts_config_torchrun_t));

    t->set = 1;
    t->nnodes.value = 1;
    t->nproc_per_node.value = 1;
    t->monitor_interval.value = 5;
    t->omp_number_threads.value = 1;

    for (i = 0; i < map->n; i++) {
        key = map->items[2 * i];
        v = map->items[2 * i + 1];

        if (key->type != TS_YAML_STR) {
            ts_config_warn(x, key, "unsupported torchrun parameter %s",
                           ts_config_text(key));
            continue;
        }

        k = key->str;

        if (strcmp(k, "rdzv-backend") == 0) {
            ts_config_str(x, v, "torchrun.rdzv-backend", "reset to c10d",
                          &t->rdzv_backend);
            continue;
        }

        if (strcmp(k, "rdzv-endpoint") == 0) {
            ts_config_str(x, v, "torchrun.rdzv-endpoint", "ignored",
                          &t->rdzv_endpoint);
            continue;
        }

        if (strcmp(k, "rdzv-conf") == 0) {
            ts_config_str(x, v, "torchrun.rdzv-conf", "ignored",
                          &t->rdzv_conf);
            continue;
        }

        if (strcmp(k, "nnodes") == 0) {
            if (ts_config_int(x, v, "torchrun.nnodes", "reset to 1", &n)
                == 0)
            {
                if (n <= 0) {
                    ts_config_warn(x, v, "invalid torchrun.nnodes: %d, "
                                   "reset to 1", n);
                } else {
                    t->nnodes.set = 1;
                    t->nnodes.value = n;
                }
            }

            continue;
        }

        if (strcmp(k, "nproc-per-node") == 0) {
            if (ts_config_int(x, v, "torchrun.nproc-per-node", "reset to 1",
                              &n)
                == 0)
            {
                if (n <= 0) {
                    ts_config_warn(x, v, "invalid torchrun.nproc-per-node: "
                                   "%d, reset to 1", n);
                } else {
                    t->nproc_per_node.set = 1;
                    t->nproc_per_node.value = n;
                }
            }

            continue;
        }

        if (strcmp(k, "monitor-interval") == 0) {
            if (ts_config_int(x, v, "torchrun.monitor-interval",
                              "reset to 5", &n)
                == 0)
            {
                if (n <= 0) {
                    ts_config_warn(x, v, "invalid torchrun.monitor-interval: "
                                   "%d, reset to 5", n);
                } else {
                    t->monitor_interval.set = 1;
                    t->monitor_interval.value = n;
                }
            }

            continue;
        }

        if (strcmp(k, "node-rank") == 0) {
            if (ts_config_int(x, v, "torchrun.node-rank", "reset to 0", &n)
                == 0)
            {
                if (n < 0) {
                    ts_config_warn(x, v, "invalid torchrun.node-rank: %d, "
                                   "reset to 0", n);
                } else {
                    t->node_rank.set = 1;
                    t->node_rank.value = n;
                }
            }

            continue;
        }

        if (strcmp(k, "OMP_NUMBER_THREADS") == 0) {
            if (ts_config_int(x, v, "OMP_NUMBER_THREADS", "reset to 1", &n)
                == 0)
            {
                if (n < 1) {
                    ts_config_warn(x, v, "invalid OMP_NUMBER_THREADS: %d, "
                                   "reset to 1", n);
                } else {
                    t->omp_number_threads.set = 1;
                    t->omp_number_threads.value = n;
                }
            }

            continue;
        }

        ts_config_warn(x, key, "unsupported torchrun parameter %s", k);
    }

    /* TorchServe: parallelLevel follows torchrun's nproc-per-node */
    x->cfg->parallel_level.set = 1;
    x->cfg->parallel_level.value = t->nproc_per_node.value;
}


/* a Java Integer: an int that fits 32 bits; anything else is warned */

static int
ts_config_int(ts_config_ctx_t *x, const ts_yaml_node_t *v, const char *key,
    const char *should, int *out)
{
    if (v->type != TS_YAML_INT || v->i_bits != 32) {
        ts_config_warn(x, v, "invalid %s: %s, %s (ignored)", key,
                       ts_config_text(v), should);
        return -1;
    }

    *out = (int) v->i;

    return 0;
}


static int
ts_config_bool(ts_config_ctx_t *x, const ts_yaml_node_t *v, const char *key,
    ts_config_bool_t *out)
{
    if (v->type != TS_YAML_BOOL) {
        ts_config_warn(x, v, "invalid %s: %s, should be true or false "
                       "(ignored)", key, ts_config_text(v));
        return -1;
    }

    out->set = 1;
    out->value = v->b;

    return 0;
}


static int
ts_config_str(ts_config_ctx_t *x, const ts_yaml_node_t *v, const char *key,
    const char *should, ts_config_str_t *out)
{
    char  *copy;

    if (v->type != TS_YAML_STR) {
        ts_config_warn(x, v, "invalid %s: %s, %s", key, ts_config_text(v),
                       should);
        return -1;
    }

    copy = strdup(v->str);
    if (copy == NULL) {
        x->nomem = 1;
        return -1;
    }

    free(out->value);
    out->value = copy;
    out->set = 1;

    return 0;
}


static void
ts_config_warn(ts_config_ctx_t *x, const ts_yaml_node_t *v,
    const char *fmt, ...)
{
    int                 n, m;
    char               *msg, **warnings;
    va_list             args;
    ts_model_config_t  *cfg;

    cfg = x->cfg;

    va_start(args, fmt);
    m = vsnprintf(NULL, 0, fmt, args);
    va_end(args);

    if (m < 0) {
        return;
    }

    n = snprintf(NULL, 0, "line %u, column %u: ", v->line, v->column);

    msg = malloc((size_t) n + (size_t) m + 1);
    if (msg == NULL) {
        x->nomem = 1;
        return;
    }

    snprintf(msg, (size_t) n + 1, "line %u, column %u: ", v->line,
             v->column);

    va_start(args, fmt);
    vsnprintf(msg + n, (size_t) m + 1, fmt, args);
    va_end(args);

    warnings = realloc(cfg->warnings,
                       (cfg->nwarnings + 1) * sizeof(char *));
    if (warnings == NULL) {
        free(msg);
        x->nomem = 1;
        return;
    }

    cfg->warnings = warnings;
    cfg->warnings[cfg->nwarnings++] = msg;
}


static const char *
ts_config_text(const ts_yaml_node_t *v)
{
    switch (v->type) {

    case TS_YAML_SEQ:
        return "[...]";

    case TS_YAML_MAP:
        return "{...}";

    default:
        return v->str ? v->str : "";
    }
}
