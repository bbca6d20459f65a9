/*
 * ts_model_config.c: model-config.yaml, loaded as a ts_yaml tree, read as
 * TorchServe's ModelConfig.build reads it
 * (frontend/archive/.../model/ModelConfig.java).
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ts_model_config.h"


#define TS_CONFIG_WARNING_MAX  320      /* bytes, a hostile value cut */


typedef enum {
    TS_CONFIG_MIN0,             /* Math.max(0, v) */
    TS_CONFIG_MIN1,             /* Math.max(1, v) */
    TS_CONFIG_NEG_IGNORED,      /* v < 0: warned and ignored */
    TS_CONFIG_NONPOS_IGNORED    /* v <= 0: warned and ignored */
} ts_config_rule_e;


typedef struct {
    ts_model_config_t  *cfg;
    char               *err;
    size_t              errlen;
} ts_config_ctx_t;


typedef struct ts_config_key_s  ts_config_key_t;

typedef int (*ts_config_read_pt)(ts_config_ctx_t *x, const ts_config_key_t *k,
    const ts_yaml_node_t *v);

struct ts_config_key_s {
    const char         *name;
    ts_config_read_pt   read;
    size_t              offset;     /* of a ts_config_int_t */
    ts_config_rule_e    rule;
    const char         *should;     /* TorchServe's wording */
};


static int ts_config_read(ts_config_ctx_t *x, ts_yaml_node_t *root);
static int ts_config_int(ts_config_ctx_t *x, const ts_config_key_t *k,
    const ts_yaml_node_t *v);
static int ts_config_device_type(ts_config_ctx_t *x,
    const ts_config_key_t *k, const ts_yaml_node_t *v);
static int ts_config_device_ids(ts_config_ctx_t *x, const ts_config_key_t *k,
    const ts_yaml_node_t *v);
static int ts_config_handler(ts_config_ctx_t *x, ts_yaml_node_t *root);
static int ts_config_ignored(ts_config_ctx_t *x, const ts_yaml_node_t *root);
static int ts_config_note(ts_config_ctx_t *x, char ***list, size_t *n,
    const ts_yaml_node_t *at, const char *fmt, va_list args);
static int ts_config_ignore(ts_config_ctx_t *x, const ts_yaml_node_t *at,
    const char *fmt, ...);
static int ts_config_warn(ts_config_ctx_t *x, const ts_yaml_node_t *at,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static const char *ts_config_text(const ts_yaml_node_t *v);


static const ts_config_key_t  ts_config_keys[] = {
    { "minWorkers", ts_config_int, offsetof(ts_model_config_t, min_workers),
      TS_CONFIG_MIN1, "should be integer" },
    { "maxWorkers", ts_config_int, offsetof(ts_model_config_t, max_workers),
      TS_CONFIG_NEG_IGNORED, "should be integer" },
    { "batchSize", ts_config_int, offsetof(ts_model_config_t, batch_size),
      TS_CONFIG_MIN1, "should be integer" },
    { "maxBatchDelay", ts_config_int,
      offsetof(ts_model_config_t, max_batch_delay), TS_CONFIG_NEG_IGNORED,
      "should be integer" },
    { "responseTimeout", ts_config_int,
      offsetof(ts_model_config_t, response_timeout), TS_CONFIG_NONPOS_IGNORED,
      "should be integer" },
    { "jobQueueSize", ts_config_int,
      offsetof(ts_model_config_t, job_queue_size), TS_CONFIG_MIN0,
      "should be positive int" },
    { "deviceType", ts_config_device_type, 0, 0, NULL },
    { "deviceIds", ts_config_device_ids, 0, 0, NULL },
    { NULL, NULL, 0, 0, NULL }
};


int
ts_model_config_parse(const char *yaml, size_t len, ts_model_config_t *cfg,
    char *err, size_t errlen)
{
    int               rc;
    ts_yaml_node_t   *root;
    ts_config_ctx_t   x;

    memset(cfg, 0, sizeof(ts_model_config_t));
    cfg->response_timeout.value = 120;          /* TorchServe's default */

    if (ts_yaml_load(yaml, len, &root, err, errlen) != 0) {
        return -1;
    }

    x.cfg = cfg;
    x.err = err;
    x.errlen = errlen;

    /* nothing, "~" or "---" alone: an empty configuration */
    rc = 0;

    if (root != NULL && root->type != TS_YAML_NULL) {
        rc = ts_config_read(&x, root);
    }

    ts_yaml_free(root);

    if (rc != 0) {
        ts_model_config_clear(cfg);
    }

    return rc;
}


void
ts_model_config_clear(ts_model_config_t *cfg)
{
    size_t  i;

    free(cfg->device_ids.ids);
    ts_yaml_free(cfg->handler);

    for (i = 0; i < cfg->nwarnings; i++) {
        free(cfg->warnings[i]);
    }

    for (i = 0; i < cfg->nignored; i++) {
        free(cfg->ignored[i]);
    }

    free(cfg->warnings);
    free(cfg->ignored);
    memset(cfg, 0, sizeof(ts_model_config_t));
}


/* every other key is the handler's, or nothing the server serves */

static int
ts_config_read(ts_config_ctx_t *x, ts_yaml_node_t *root)
{
    const ts_yaml_node_t   *v;
    const ts_config_key_t  *k;

    if (root->type != TS_YAML_MAP) {
        snprintf(x->err, x->errlen, "line %u, column %u: the top level is a "
                 "%s, not a mapping of keys to values", root->line,
                 root->column, ts_yaml_type_name(root->type));
        return -1;
    }

    for (k = ts_config_keys; k->name != NULL; k++) {
        v = ts_yaml_map_get(root, k->name);

        if (v != NULL && k->read(x, k, v) != 0) {
            return -1;
        }
    }

    if (ts_config_ignored(x, root) != 0) {
        return -1;
    }

    return ts_config_handler(x, root);
}


/* the keys neither in the table nor "handler", for a debug line */
static int
ts_config_ignored(ts_config_ctx_t *x, const ts_yaml_node_t *root)
{
    size_t                  i;
    const ts_yaml_node_t   *key;
    const ts_config_key_t  *k;

    for (i = 0; i < root->n; i++) {
        key = root->items[2 * i];

        if (key->type == TS_YAML_STR && strcmp(key->str, "handler") == 0) {
            continue;
        }

        for (k = ts_config_keys; k->name != NULL; k++) {
            if (key->type == TS_YAML_STR && strcmp(key->str, k->name) == 0) {
                break;
            }
        }

        if (k->name == NULL
            && ts_config_ignore(x, key, "%s (not used by the server)",
                                ts_config_text(key))
               != 0)
        {
            return -1;
        }
    }

    return 0;
}


static int
ts_config_int(ts_config_ctx_t *x, const ts_config_key_t *k,
    const ts_yaml_node_t *v)
{
    int               n;
    ts_config_int_t  *f;

    /* a Java Integer */
    if (v->type != TS_YAML_INT || v->i_bits != 32) {
        return ts_config_warn(x, v, "invalid %s: %s, %s (ignored)",
                              k->name, ts_config_text(v), k->should);
    }

    n = (int) v->i;

    if ((k->rule == TS_CONFIG_NEG_IGNORED && n < 0)
        || (k->rule == TS_CONFIG_NONPOS_IGNORED && n <= 0))
    {
        return ts_config_warn(x, v, "invalid %s: %d (ignored)",
                              k->name, n);
    }

    if (k->rule == TS_CONFIG_MIN0 && n < 0) {
        n = 0;

    } else if (k->rule == TS_CONFIG_MIN1 && n < 1) {
        n = 1;
    }

    f = (ts_config_int_t *) ((char *) x->cfg + k->offset);
    f->set = 1;
    f->value = n;

    return 0;
}


/* DeviceType.get: compared in lower case; "" is NONE, and not warned */

static int
ts_config_device_type(ts_config_ctx_t *x, const ts_config_key_t *k,
    const ts_yaml_node_t *v)
{
    const char  *s;

    s = v->str;

    if (v->type == TS_YAML_STR && strcasecmp(s, "cpu") == 0) {
        x->cfg->device_type.value = TS_DEVICE_CPU;

    } else if (v->type == TS_YAML_STR && strcasecmp(s, "gpu") == 0) {
        x->cfg->device_type.value = TS_DEVICE_GPU;

    } else if (v->type != TS_YAML_STR || s[0] != '\0') {
        return ts_config_warn(x, v, "invalid deviceType: %s, should be "
                              "cpu, or gpu (ignored)", ts_config_text(v));
    }

    x->cfg->device_type.set = (x->cfg->device_type.value != TS_DEVICE_NONE);

    return 0;
}


/* one item that is not an Integer drops the whole list */

static int
ts_config_device_ids(ts_config_ctx_t *x, const ts_config_key_t *k,
    const ts_yaml_node_t *v)
{
    int                   *ids;
    size_t                 i;
    const ts_yaml_node_t  *item;

    if (v->type != TS_YAML_SEQ) {
        return ts_config_warn(x, v, "invalid deviceIds: %s, should be "
                              "list of integer (ignored)",
                              ts_config_text(v));
    }

    ids = malloc((v->n ? v->n : 1) * sizeof(int));
    if (ids == NULL) {
        snprintf(x->err, x->errlen, "out of memory");
        return -1;
    }

    for (i = 0; i < v->n; i++) {
        item = v->items[i];

        if (item->type != TS_YAML_INT || item->i_bits != 32) {
            free(ids);
            return ts_config_warn(x, item, "invalid deviceIds: %s (the list "
                                  "is ignored)", ts_config_text(item));
        }

        ids[i] = (int) item->i;
    }

    x->cfg->device_ids.set = 1;
    x->cfg->device_ids.ids = ids;
    x->cfg->device_ids.n = v->n;

    return 0;
}


/* TorchServe's model-config.yaml leaves a "handler" mapping to handlers */

static int
ts_config_handler(ts_config_ctx_t *x, ts_yaml_node_t *root)
{
    const ts_yaml_node_t  *v;

    v = ts_yaml_map_get(root, "handler");

    if (v == NULL || v->type == TS_YAML_NULL) {
        return 0;                               /* "handler:" alone too */
    }

    if (v->type != TS_YAML_MAP) {
        return ts_config_warn(x, v, "invalid handler: %s, should be a "
                              "mapping (ignored)", ts_config_text(v));
    }

    x->cfg->handler = ts_yaml_map_take(root, "handler");

    return 0;
}


/* "line L, column C: ..." added to a list; 0, or -1 out of memory */
static int
ts_config_note(ts_config_ctx_t *x, char ***list, size_t *n,
    const ts_yaml_node_t *at, const char *fmt, va_list args)
{
    int     len;
    char    buf[TS_CONFIG_WARNING_MAX], *msg, **grown;

    len = snprintf(buf, sizeof(buf), "line %u, column %u: ", at->line,
                   at->column);
    vsnprintf(buf + len, sizeof(buf) - (size_t) len, fmt, args);

    msg = strdup(buf);
    grown = NULL;

    if (msg != NULL) {
        grown = realloc(*list, (*n + 1) * sizeof(char *));
    }

    if (grown == NULL) {
        free(msg);
        snprintf(x->err, x->errlen, "out of memory");
        return -1;
    }

    *list = grown;
    (*list)[(*n)++] = msg;

    return 0;
}


static int
ts_config_warn(ts_config_ctx_t *x, const ts_yaml_node_t *at,
    const char *fmt, ...)
{
    int      rc;
    va_list  args;

    va_start(args, fmt);
    rc = ts_config_note(x, &x->cfg->warnings, &x->cfg->nwarnings, at, fmt,
                        args);
    va_end(args);

    return rc;
}


static int
ts_config_ignore(ts_config_ctx_t *x, const ts_yaml_node_t *at,
    const char *fmt, ...)
{
    int      rc;
    va_list  args;

    va_start(args, fmt);
    rc = ts_config_note(x, &x->cfg->ignored, &x->cfg->nignored, at, fmt,
                        args);
    va_end(args);

    return rc;
}


static const char *
ts_config_text(const ts_yaml_node_t *v)
{
    if (v->type == TS_YAML_SEQ) {
        return "[...]";
    }

    return (v->type == TS_YAML_MAP) ? "{...}" : v->str;
}
