/*
 * ts_manifest.c: MAR-INF/MANIFEST.json as torch-model-archiver writes it.
 *
 * Field names are TorchServe's (API.md, section 6).  A field present with
 * a value that is not a string is an error naming the field; null counts
 * as absent, as it does for TorchServe's frontend (Gson).  Unknown fields
 * are ignored: newer archivers add some.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ts_archive.h"


typedef struct {
    const char  *key;
    size_t       offset;            /* of the char * in ts_manifest_t */
} ts_manifest_field_t;


static int ts_manifest_get_fields(json_t *object, const char *prefix,
    const ts_manifest_field_t *fields, ts_manifest_t *m, char *err,
    size_t errlen);


static const ts_manifest_field_t  ts_manifest_top_fields[] = {
    { "createdOn",        offsetof(ts_manifest_t, created_on) },
    { "runtime",          offsetof(ts_manifest_t, runtime) },
    { "archiverVersion",  offsetof(ts_manifest_t, archiver_version) },
    { "description",      offsetof(ts_manifest_t, description) },
    { NULL, 0 }
};


static const ts_manifest_field_t  ts_manifest_model_fields[] = {
    { "modelName",        offsetof(ts_manifest_t, model_name) },
    { "modelVersion",     offsetof(ts_manifest_t, model_version) },
    { "serializedFile",   offsetof(ts_manifest_t, serialized_file) },
    { "handler",          offsetof(ts_manifest_t, handler) },
    { "modelFile",        offsetof(ts_manifest_t, model_file) },
    { "extensions",       offsetof(ts_manifest_t, extensions) },
    { "requirementsFile", offsetof(ts_manifest_t, requirements_file) },
    { "configFile",       offsetof(ts_manifest_t, config_file) },
    { "envelope",         offsetof(ts_manifest_t, envelope) },
    { "description",      offsetof(ts_manifest_t, model_description) },
    { NULL, 0 }
};


/*
 * m is zeroed first, so it may be uninitialised (but not hold strings: they
 * would leak).  On error every field is NULL again.
 */

int
ts_manifest_parse(const char *json, size_t len, ts_manifest_t *m,
    char *err, size_t errlen)
{
    json_t       *root, *model;
    json_error_t  error;

    memset(m, 0, sizeof(ts_manifest_t));

    /* JSON_ALLOW_NUL is not given: "\u0000" is refused, strings stay C */
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &error);
    if (root == NULL) {
        snprintf(err, errlen, "invalid JSON at line %d, column %d: %s",
                 error.line, error.column, error.text);
        return -1;
    }

    if (!json_is_object(root)) {
        snprintf(err, errlen, "the top level is not a JSON object");
        goto failed;
    }

    model = json_object_get(root, "model");

    if (model == NULL || json_is_null(model)) {
        snprintf(err, errlen, "no \"model\" object");
        goto failed;
    }

    if (!json_is_object(model)) {
        snprintf(err, errlen, "\"model\" is not an object");
        goto failed;
    }

    if (ts_manifest_get_fields(root, "", ts_manifest_top_fields, m,
                               err, errlen)
        != 0)
    {
        goto failed;
    }

    if (ts_manifest_get_fields(model, "model.", ts_manifest_model_fields, m,
                               err, errlen)
        != 0)
    {
        goto failed;
    }

    if (m->model_name == NULL) {
        snprintf(err, errlen, "no \"model.modelName\"");
        goto failed;
    }

    if (m->model_name[0] == '\0') {
        snprintf(err, errlen, "\"model.modelName\" is empty");
        goto failed;
    }

    json_decref(root);

    return 0;

failed:

    json_decref(root);
    ts_manifest_clear(m);

    return -1;
}


static int
ts_manifest_get_fields(json_t *object, const char *prefix,
    const ts_manifest_field_t *fields, ts_manifest_t *m, char *err,
    size_t errlen)
{
    char                      *copy;
    json_t                    *value;
    const ts_manifest_field_t *field;

    for (field = fields; field->key != NULL; field++) {

        value = json_object_get(object, field->key);

        if (value == NULL || json_is_null(value)) {
            continue;
        }

        if (!json_is_string(value)) {
            snprintf(err, errlen, "\"%s%s\" is not a string",
                     prefix, field->key);
            return -1;
        }

        copy = strdup(json_string_value(value));
        if (copy == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }

        *(char **) ((char *) m + field->offset) = copy;
    }

    return 0;
}


void
ts_manifest_clear(ts_manifest_t *m)
{
    free(m->created_on);
    free(m->runtime);
    free(m->archiver_version);
    free(m->description);
    free(m->model_name);
    free(m->model_version);
    free(m->serialized_file);
    free(m->handler);
    free(m->model_file);
    free(m->extensions);
    free(m->requirements_file);
    free(m->config_file);
    free(m->envelope);
    free(m->model_description);

    memset(m, 0, sizeof(ts_manifest_t));
}
