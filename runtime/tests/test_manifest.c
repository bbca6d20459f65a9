/*
 * test_manifest.c: ts_manifest_parse on MANIFEST.json texts.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ts_archive.h"


#define TEXT(s)  s, sizeof(s) - 1


/* as torch-model-archiver 0.12 writes it, plus every optional field */
static const char  full_manifest[] =
    "{\n"
    "  \"createdOn\": \"24/11/2025 02:39:00\",\n"
    "  \"runtime\": \"python\",\n"
    "  \"description\": \"digits\",\n"
    "  \"model\": {\n"
    "    \"modelName\": \"mnist\",\n"
    "    \"serializedFile\": \"mnist.pt\",\n"
    "    \"handler\": \"image_classifier\",\n"
    "    \"modelFile\": \"mnist_model.py\",\n"
    "    \"modelVersion\": \"1.0\",\n"
    "    \"extensions\": \"ext.py\",\n"
    "    \"requirementsFile\": \"requirements.txt\",\n"
    "    \"configFile\": \"model-config.yaml\",\n"
    "    \"envelope\": \"json\",\n"
    "    \"description\": \"a CNN\"\n"
    "  },\n"
    "  \"archiverVersion\": \"0.12.0\"\n"
    "}\n";


static void
assert_manifest_empty(const ts_manifest_t *m)
{
    assert_null(m->created_on);
    assert_null(m->runtime);
    assert_null(m->archiver_version);
    assert_null(m->description);
    assert_null(m->model_name);
    assert_null(m->model_version);
    assert_null(m->serialized_file);
    assert_null(m->handler);
    assert_null(m->model_file);
    assert_null(m->extensions);
    assert_null(m->requirements_file);
    assert_null(m->config_file);
    assert_null(m->envelope);
    assert_null(m->model_description);
}


/* parse must fail, leave m empty and say every one of the words */

static void
assert_parse_fails(const char *json, size_t len, ...)
{
    char           err[512];
    va_list        args;
    const char    *word;
    ts_manifest_t  m;

    memset(&m, 0xff, sizeof(ts_manifest_t));   /* uninitialised on entry */
    err[0] = '\0';

    assert_int_not_equal(ts_manifest_parse(json, len, &m, err,
                                           sizeof(err)), 0);
    assert_manifest_empty(&m);

    va_start(args, len);

    while ((word = va_arg(args, const char *)) != NULL) {
        if (strstr(err, word) == NULL) {
            fail_msg("\"%s\" not in the message \"%s\"", word, err);
        }
    }

    va_end(args);
}


static void
test_every_field(void **state)
{
    char           err[256];
    ts_manifest_t  m;

    (void) state;

    assert_int_equal(ts_manifest_parse(TEXT(full_manifest), &m, err,
                                       sizeof(err)), 0);

    assert_string_equal(m.created_on, "24/11/2025 02:39:00");
    assert_string_equal(m.runtime, "python");
    assert_string_equal(m.archiver_version, "0.12.0");
    assert_string_equal(m.description, "digits");
    assert_string_equal(m.model_name, "mnist");
    assert_string_equal(m.model_version, "1.0");
    assert_string_equal(m.serialized_file, "mnist.pt");
    assert_string_equal(m.handler, "image_classifier");
    assert_string_equal(m.model_file, "mnist_model.py");
    assert_string_equal(m.extensions, "ext.py");
    assert_string_equal(m.requirements_file, "requirements.txt");
    assert_string_equal(m.config_file, "model-config.yaml");
    assert_string_equal(m.envelope, "json");
    assert_string_equal(m.model_description, "a CNN");

    ts_manifest_clear(&m);
    assert_manifest_empty(&m);

    /* clearing twice is harmless */
    ts_manifest_clear(&m);
}


static void
test_missing_fields_are_null(void **state)
{
    char           err[256], *name;
    ts_manifest_t  m;

    (void) state;

    assert_int_equal(ts_manifest_parse(
        TEXT("{\"model\": {\"modelName\": \"m\"}}"), &m, err, sizeof(err)),
        0);

    assert_string_equal(m.model_name, "m");

    /* every other field is NULL */
    name = m.model_name;
    m.model_name = NULL;
    assert_manifest_empty(&m);
    m.model_name = name;

    ts_manifest_clear(&m);
}


static void
test_null_is_absent_and_unknown_ignored(void **state)
{
    char           err[256];
    ts_manifest_t  m;

    (void) state;

    assert_int_equal(ts_manifest_parse(TEXT(
        "{\"runtime\": null, \"specificationVersion\": 1,"
        " \"model\": {\"modelName\": \"m\", \"modelFile\": null,"
        " \"version\": 2, \"future\": [1, 2]}}"),
        &m, err, sizeof(err)), 0);

    assert_string_equal(m.model_name, "m");
    assert_null(m.runtime);
    assert_null(m.model_file);
    assert_null(m.model_version);

    ts_manifest_clear(&m);
}


static void
test_not_nul_terminated(void **state)
{
    char           err[256];
    ts_manifest_t  m;
    const char     text[] = "{\"model\": {\"modelName\": \"m\"}}garbage";

    (void) state;

    assert_int_equal(ts_manifest_parse(text, strlen(text) - 7, &m, err,
                                       sizeof(err)), 0);
    assert_string_equal(m.model_name, "m");

    ts_manifest_clear(&m);
}


static void
test_non_string_fields(void **state)
{
    (void) state;

    assert_parse_fails(TEXT(
        "{\"model\": {\"modelName\": \"m\", \"modelVersion\": 1.0}}"),
        "\"model.modelVersion\"", "not a string", NULL);

    assert_parse_fails(TEXT(
        "{\"model\": {\"modelName\": \"m\", \"serializedFile\": [\"a\"]}}"),
        "\"model.serializedFile\"", "not a string", NULL);

    assert_parse_fails(TEXT(
        "{\"runtime\": 3, \"model\": {\"modelName\": \"m\"}}"),
        "\"runtime\"", "not a string", NULL);

    assert_parse_fails(TEXT(
        "{\"model\": {\"modelName\": \"m\", \"handler\": true,"
        " \"modelFile\": \"x.py\"}}"),
        "\"model.handler\"", NULL);

    assert_parse_fails(TEXT("{\"model\": {\"modelName\": {}}}"),
        "\"model.modelName\"", "not a string", NULL);
}


static void
test_duplicate_keys(void **state)
{
    (void) state;

    assert_parse_fails(TEXT(
        "{\"model\": {\"modelName\": \"a\", \"modelName\": \"b\"}}"),
        "duplicate", "modelName", NULL);

    assert_parse_fails(TEXT(
        "{\"model\": {\"modelName\": \"a\"}, \"model\": {}}"),
        "duplicate", NULL);
}


static void
test_invalid_json(void **state)
{
    (void) state;

    /* a trailing comma: the '}' on line 4 is where a key was due */
    assert_parse_fails(TEXT(
        "{\n  \"model\": {\n    \"modelName\": \"m\",\n}\n"),
        "invalid JSON", "line 4", "column", NULL);

    assert_parse_fails(TEXT(""), "invalid JSON", "line 1", NULL);

    assert_parse_fails(TEXT("{\"model\": {\"modelName\": \"a\\u0000b\"}}"),
        "invalid JSON", NULL);

    assert_parse_fails(TEXT("[{\"model\": {\"modelName\": \"m\"}}]"),
        "not a JSON object", NULL);

    assert_parse_fails(TEXT("{\"model\": {\"modelName\": \"m\"}} {}"),
        "invalid JSON", NULL);
}


static void
test_missing_model(void **state)
{
    (void) state;

    assert_parse_fails(TEXT("{\"runtime\": \"python\"}"),
        "\"model\"", NULL);

    assert_parse_fails(TEXT("{\"model\": null}"), "\"model\"", NULL);

    assert_parse_fails(TEXT("{\"model\": \"mnist\"}"),
        "\"model\" is not an object", NULL);

    assert_parse_fails(TEXT("{\"model\": {\"serializedFile\": \"m.pt\"}}"),
        "model.modelName", NULL);

    assert_parse_fails(TEXT("{\"model\": {\"modelName\": \"\"}}"),
        "model.modelName", "empty", NULL);
}


static void
test_small_error_buffer(void **state)
{
    char           err[8];
    ts_manifest_t  m;

    (void) state;

    memset(err, 'x', sizeof(err));

    assert_int_not_equal(ts_manifest_parse(TEXT("{"), &m, err,
                                           sizeof(err)), 0);
    assert_int_equal(strlen(err), sizeof(err) - 1);

    assert_int_not_equal(ts_manifest_parse(TEXT("{"), &m, NULL, 0), 0);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_every_field),
        cmocka_unit_test(test_missing_fields_are_null),
        cmocka_unit_test(test_null_is_absent_and_unknown_ignored),
        cmocka_unit_test(test_not_nul_terminated),
        cmocka_unit_test(test_non_string_fields),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_invalid_json),
        cmocka_unit_test(test_missing_model),
        cmocka_unit_test(test_small_error_buffer),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
