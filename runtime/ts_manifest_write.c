/*
 * ts_manifest_write.c: MAR-INF/MANIFEST.json as upstream's Python writes
 * it.  The manifest is built as an ordered dict of strings and written by
 * ts_pyjson.c, the one json.dumps(indent=2) we have, so that the archive
 * and the prediction answers share one set of escapes and one policy for
 * bytes that are not UTF-8.
 */

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ts_archive_write.h"
#include "ts_json.h"


/* the most keys one of the manifest's objects has ("model": 10) */
#define TS_MANIFEST_MAX_KEYS  16


typedef struct {
    const char  *key;
    size_t       offset;            /* of the char * in ts_manifest_t */
    unsigned     always:1;          /* written even when NULL or empty */
} ts_manifest_key_t;


static int ts_manifest_put_model(ts_value_t *root, const ts_manifest_t *m);
static int ts_manifest_put(ts_value_t *dict, const char *key,
    const char *value, int always);
static ts_value_t *ts_manifest_add(ts_value_t *dict, const char *key);
static int ts_manifest_dict(ts_value_t *v);
static int ts_manifest_string(ts_value_t *v, const char *s);


/*
 * upstream's order (manifest_components/model.py); the fields upstream
 * never writes (envelope, description) come last
 */
static const ts_manifest_key_t  ts_manifest_model_keys[] = {
    { "modelName", offsetof(ts_manifest_t, model_name), 1 },
    { "serializedFile", offsetof(ts_manifest_t, serialized_file), 0 },
    { "handler", offsetof(ts_manifest_t, handler), 1 },
    { "modelFile", offsetof(ts_manifest_t, model_file), 0 },
    { "modelVersion", offsetof(ts_manifest_t, model_version), 0 },
    { "extensions", offsetof(ts_manifest_t, extensions), 0 },
    { "requirementsFile", offsetof(ts_manifest_t, requirements_file), 0 },
    { "configFile", offsetof(ts_manifest_t, config_file), 0 },
    { "envelope", offsetof(ts_manifest_t, envelope), 0 },
    { "description", offsetof(ts_manifest_t, model_description), 0 },
    { NULL, 0, 0 }
};


void
ts_manifest_created_on(time_t t, char *buf, size_t size)
{
    struct tm  tm;

    if (localtime_r(&t, &tm) == NULL
        || strftime(buf, size, "%d/%m/%Y %H:%M:%S", &tm) == 0)
    {
        snprintf(buf, size, "01/01/1970 00:00:00");
    }
}


char *
ts_manifest_json(const ts_manifest_t *m, size_t *len)
{
    char        *buf;
    size_t       n, cap;
    ts_value_t   root;

    buf = NULL;
    n = 0;
    cap = 0;

    if (ts_manifest_dict(&root) != 0) {
        return NULL;
    }

    if (ts_manifest_put(&root, "createdOn", m->created_on, 1) != 0
        || ts_manifest_put(&root, "runtime", m->runtime, 1) != 0
        || ts_manifest_put_model(&root, m) != 0
        || ts_manifest_put(&root, "archiverVersion", m->archiver_version, 0)
           != 0
        || ts_manifest_put(&root, "description", m->description, 0) != 0
        || ts_json_dump_value(&root, &buf, &n, &cap) != 0)
    {
        /* the dump may have allocated before it failed */
        free(buf);
        buf = NULL;
    }

    ts_value_clear(&root);

    if (buf != NULL) {
        *len = n;
    }

    return buf;
}


static int
ts_manifest_put_model(ts_value_t *root, const ts_manifest_t *m)
{
    ts_value_t               *model;
    const char               *value;
    const ts_manifest_key_t  *k;

    model = ts_manifest_add(root, "model");
    if (model == NULL || ts_manifest_dict(model) != 0) {
        return -1;
    }

    for (k = ts_manifest_model_keys; k->key != NULL; k++) {
        value = *(char * const *) ((const char *) m + k->offset);

        if (ts_manifest_put(model, k->key, value, k->always) != 0) {
            return -1;
        }
    }

    return 0;
}


/* an optional key (always == 0) is left out when NULL or empty */

static int
ts_manifest_put(ts_value_t *dict, const char *key, const char *value,
    int always)
{
    ts_value_t  *v;

    if (!always && (value == NULL || value[0] == '\0')) {
        return 0;
    }

    v = ts_manifest_add(dict, key);
    if (v == NULL) {
        return -1;
    }

    return ts_manifest_string(v, value ? value : "");
}


/*
 * Appends key with a None value, for the caller to set; what is appended
 * is the dict's, so ts_value_clear of the root frees it whatever fails
 * later.  NULL when out of memory.
 */

static ts_value_t *
ts_manifest_add(ts_value_t *dict, const char *key)
{
    size_t  n;

    n = dict->u.dict.n;

    /* the arrays are sized once for the largest object */
    if (n == TS_MANIFEST_MAX_KEYS
        || ts_manifest_string(&dict->u.dict.keys[n], key) != 0)
    {
        return NULL;
    }

    dict->u.dict.n++;

    return &dict->u.dict.values[n];
}


static int
ts_manifest_dict(ts_value_t *v)
{
    memset(v, 0, sizeof(ts_value_t));

    v->u.dict.keys = calloc(TS_MANIFEST_MAX_KEYS, sizeof(ts_value_t));
    v->u.dict.values = calloc(TS_MANIFEST_MAX_KEYS, sizeof(ts_value_t));

    if (v->u.dict.keys == NULL || v->u.dict.values == NULL) {
        free(v->u.dict.keys);
        free(v->u.dict.values);
        memset(v, 0, sizeof(ts_value_t));
        return -1;
    }

    v->type = TS_VAL_DICT;

    return 0;
}


static int
ts_manifest_string(ts_value_t *v, const char *s)
{
    size_t  len;

    len = strlen(s);

    v->u.str.data = malloc(len + 1);
    if (v->u.str.data == NULL) {
        return -1;
    }

    memcpy(v->u.str.data, s, len + 1);
    v->u.str.len = len;
    v->type = TS_VAL_STRING;

    return 0;
}
