/*
 * test_model_config.c: model-config.yaml read as TorchServe reads the keys
 * the server uses (ModelConfig.build over SnakeYAML's types), and the
 * "handler" tree.  The first two tests are TorchServe's own
 * (frontend/archive/src/test/.../ModelConfigTest.java on its valid.yaml
 * and invalid.yaml), less the keys we no longer read.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ts_model_config.h"


#define FX_COUNT(a)  (sizeof(a) / sizeof((a)[0]))


static void
fx_parse(const char *yaml, ts_model_config_t *cfg)
{
    char  err[512];

    if (ts_model_config_parse(yaml, strlen(yaml), cfg, err, sizeof(err))
        != 0)
    {
        fail_msg("parse failed: %s", err);
    }
}


/* refused with exactly want, or (want ending in '*') a message so begun */

static void
fx_refuse(const char *yaml, const char *want)
{
    char               err[512];
    size_t             n;
    ts_model_config_t  cfg;

    strcpy(err, "untouched");

    if (ts_model_config_parse(yaml, strlen(yaml), &cfg, err, sizeof(err))
        == 0)
    {
        ts_model_config_clear(&cfg);
        fail_msg("\"%.80s\" should be refused", yaml);
    }

    n = strlen(want);

    if (n > 0 && want[n - 1] == '*' ? strncmp(err, want, n - 1) != 0
                                    : strcmp(err, want) != 0)
    {
        fail_msg("\"%.80s\": got \"%s\", want \"%s\"", yaml, err, want);
    }

    /* cleared: nothing to free, nothing set */
    assert_null(cfg.handler);
    assert_null(cfg.warnings);
    assert_null(cfg.device_ids.ids);
    assert_int_equal(cfg.min_workers.set, 0);
}


static void
fx_expect_warning(const ts_model_config_t *cfg, const char *text)
{
    size_t  i;

    for (i = 0; i < cfg->nwarnings; i++) {
        if (strcmp(cfg->warnings[i], text) == 0) {
            return;
        }
    }

    for (i = 0; i < cfg->nwarnings; i++) {
        print_message("warning %zu: %s\n", i, cfg->warnings[i]);
    }

    fail_msg("no warning \"%s\"", text);
}


static const ts_yaml_node_t *
fx_handler_get(const ts_model_config_t *cfg, const char *key)
{
    const ts_yaml_node_t  *v;

    v = ts_yaml_map_get(cfg->handler, key);
    if (v == NULL) {
        fail_msg("handler.%s is missing", key);
    }

    return v;
}


/* TorchServe's valid.yaml, and ModelConfigTest.testValidYamlConfig */

static void
test_torchserve_valid(void **state)
{
    ts_model_config_t  cfg;

    fx_parse("# TS Frontend parameters\n"
             "minWorkers: 1\n"
             "maxWorkers: 1\n"
             "batchSize: 1\n"
             "maxBatchDelay: 100\n"
             "responseTimeout: 120\n"
             "deviceType: \"gpu\" # cpu, gpu\n"
             "deviceIds: [0,1,2,3] # device index for gpu\n"
             "parallelType: \"pp\" # pp: pipeline parallel\n"
             "\n"
             "torchrun:\n"
             "  nproc-per-node: 4\n", &cfg);

    assert_true(cfg.min_workers.set);
    assert_int_equal(cfg.min_workers.value, 1);
    assert_int_equal(cfg.max_workers.value, 1);
    assert_int_equal(cfg.batch_size.value, 1);
    assert_int_equal(cfg.max_batch_delay.value, 100);
    assert_true(cfg.response_timeout.set);
    assert_int_equal(cfg.response_timeout.value, 120);
    assert_false(cfg.job_queue_size.set);
    assert_true(cfg.device_type.set);
    assert_int_equal(cfg.device_type.value, TS_DEVICE_GPU);
    assert_true(cfg.device_ids.set);
    assert_int_equal(cfg.device_ids.n, 4);
    assert_int_equal(cfg.device_ids.ids[2], 2);
    assert_null(cfg.handler);

    /* parallelType and torchrun are not ours: ignored, not warned */
    assert_int_equal(cfg.nwarnings, 0);

    ts_model_config_clear(&cfg);
}


/* TorchServe's invalid.yaml: wrong types are ignored, with warnings */

static void
test_torchserve_invalid(void **state)
{
    ts_model_config_t  cfg;

    fx_parse("# TS Frontend parameters\n"
             "minWorkers: a\n"
             "maxWorkers: 1\n"
             "batchSize: 1\n"
             "maxBatchDelay: 100\n"
             "responseTimeout: 120\n"
             "deviceType: xpu # cpu, gpu\n"
             "deviceIds: 0,1,2,3] # device index for gpu\n"
             "parallelType: \"xpp\" # pp: pipeline parallel\n", &cfg);

    assert_false(cfg.min_workers.set);
    assert_true(cfg.max_workers.set);
    assert_int_equal(cfg.max_workers.value, 1);
    assert_int_equal(cfg.batch_size.value, 1);
    assert_int_equal(cfg.max_batch_delay.value, 100);
    assert_int_equal(cfg.response_timeout.value, 120);
    assert_false(cfg.device_type.set);
    assert_int_equal(cfg.device_type.value, TS_DEVICE_NONE);
    assert_false(cfg.device_ids.set);
    assert_null(cfg.device_ids.ids);

    fx_expect_warning(&cfg, "line 2, column 13: invalid minWorkers: a, "
                      "should be integer (ignored)");
    fx_expect_warning(&cfg, "line 7, column 13: invalid deviceType: xpu, "
                      "should be cpu, or gpu (ignored)");
    fx_expect_warning(&cfg, "line 8, column 12: invalid deviceIds: "
                      "0,1,2,3], should be list of integer (ignored)");
    assert_int_equal(cfg.nwarnings, 3);

    ts_model_config_clear(&cfg);
}


/* every key we read, and TorchServe's defaults for those not given */

static void
test_all_keys(void **state)
{
    ts_model_config_t  cfg;

    fx_parse("minWorkers: 2\n"
             "maxWorkers: 4\n"
             "batchSize: 8\n"
             "maxBatchDelay: 50\n"
             "responseTimeout: 30\n"
             "jobQueueSize: 100\n"
             "deviceType: CPU\n"
             "deviceIds: [1]\n"
             "handler:\n"
             "  topk: 3\n", &cfg);

    assert_int_equal(cfg.min_workers.value, 2);
    assert_int_equal(cfg.max_workers.value, 4);
    assert_int_equal(cfg.batch_size.value, 8);
    assert_int_equal(cfg.max_batch_delay.value, 50);
    assert_int_equal(cfg.response_timeout.value, 30);
    assert_true(cfg.job_queue_size.set);
    assert_int_equal(cfg.job_queue_size.value, 100);
    assert_true(cfg.device_type.set);
    assert_int_equal(cfg.device_type.value, TS_DEVICE_CPU);
    assert_int_equal(cfg.device_ids.n, 1);
    assert_int_equal(cfg.device_ids.ids[0], 1);
    assert_int_equal(fx_handler_get(&cfg, "topk")->i, 3);
    assert_int_equal(cfg.nwarnings, 0);

    ts_model_config_clear(&cfg);

    fx_parse("batchSize: 4\n", &cfg);

    assert_false(cfg.response_timeout.set);
    assert_int_equal(cfg.response_timeout.value, 120);
    assert_false(cfg.job_queue_size.set);
    assert_int_equal(cfg.job_queue_size.value, 0);
    assert_false(cfg.device_type.set);

    ts_model_config_clear(&cfg);
}


/* TorchServe's setters: clamped, or ignored with a warning */

static void
test_ranges(void **state)
{
    ts_model_config_t  cfg;

    fx_parse("minWorkers: 0\n"
             "batchSize: -3\n"
             "maxWorkers: -1\n"
             "maxBatchDelay: -5\n"
             "responseTimeout: 0\n"
             "jobQueueSize: -7\n", &cfg);

    assert_true(cfg.min_workers.set);
    assert_int_equal(cfg.min_workers.value, 1);
    assert_true(cfg.batch_size.set);
    assert_int_equal(cfg.batch_size.value, 1);
    assert_false(cfg.max_workers.set);
    assert_false(cfg.max_batch_delay.set);
    assert_false(cfg.response_timeout.set);
    assert_int_equal(cfg.response_timeout.value, 120);
    assert_true(cfg.job_queue_size.set);
    assert_int_equal(cfg.job_queue_size.value, 0);

    fx_expect_warning(&cfg, "line 3, column 13: invalid maxWorkers: -1 "
                      "(ignored)");
    fx_expect_warning(&cfg, "line 4, column 16: invalid maxBatchDelay: -5 "
                      "(ignored)");
    fx_expect_warning(&cfg, "line 5, column 18: invalid responseTimeout: 0 "
                      "(ignored)");
    assert_int_equal(cfg.nwarnings, 3);

    ts_model_config_clear(&cfg);

    /* the edges that are kept as given */
    fx_parse("maxWorkers: 0\n"
             "maxBatchDelay: 0\n"
             "responseTimeout: 1\n"
             "jobQueueSize: 0\n"
             "minWorkers: 2147483647\n", &cfg);

    assert_true(cfg.max_workers.set);
    assert_int_equal(cfg.max_workers.value, 0);
    assert_true(cfg.max_batch_delay.set);
    assert_int_equal(cfg.response_timeout.value, 1);
    assert_true(cfg.job_queue_size.set);
    assert_int_equal(cfg.min_workers.value, 2147483647);
    assert_int_equal(cfg.nwarnings, 0);

    ts_model_config_clear(&cfg);
}


/* SnakeYAML's YAML 1.1 types decide what TorchServe accepts */

static void
test_types(void **state)
{
    ts_model_config_t  cfg;

    fx_parse("minWorkers: 0x10\n"         /* hex: 16 */
             "maxWorkers: 017\n"          /* octal: 15 */
             "batchSize: 0b101\n"         /* binary: 5 */
             "maxBatchDelay: 1_000\n"     /* 1000 */
             "responseTimeout: \"60\"\n"  /* a string: ignored */
             "jobQueueSize: !!int \"12\"\n"
             "deviceType: 1\n"
             "deviceIds: [0, \"1\"]\n", &cfg);

    assert_int_equal(cfg.min_workers.value, 16);
    assert_int_equal(cfg.max_workers.value, 15);
    assert_int_equal(cfg.batch_size.value, 5);
    assert_int_equal(cfg.max_batch_delay.value, 1000);
    assert_false(cfg.response_timeout.set);
    assert_true(cfg.job_queue_size.set);
    assert_int_equal(cfg.job_queue_size.value, 12);
    assert_false(cfg.device_type.set);
    assert_false(cfg.device_ids.set);

    fx_expect_warning(&cfg, "line 5, column 18: invalid responseTimeout: "
                      "60, should be integer (ignored)");
    fx_expect_warning(&cfg, "line 7, column 13: invalid deviceType: 1, "
                      "should be cpu, or gpu (ignored)");
    fx_expect_warning(&cfg, "line 8, column 16: invalid deviceIds: 1 (the "
                      "list is ignored)");
    assert_int_equal(cfg.nwarnings, 3);

    ts_model_config_clear(&cfg);

    /* not a Java Integer: a Long, a Double, base 60, a bool, a list */
    fx_parse("minWorkers: 2147483648\n"
             "maxWorkers: 1.5\n"
             "batchSize: 1:30\n"
             "maxBatchDelay: yes\n"
             "responseTimeout: [1]\n"
             "jobQueueSize: ~\n", &cfg);

    assert_false(cfg.min_workers.set);
    assert_false(cfg.max_workers.set);
    assert_false(cfg.batch_size.set);
    assert_false(cfg.max_batch_delay.set);
    assert_false(cfg.response_timeout.set);
    assert_false(cfg.job_queue_size.set);

    fx_expect_warning(&cfg, "line 1, column 13: invalid minWorkers: "
                      "2147483648, should be integer (ignored)");
    fx_expect_warning(&cfg, "line 5, column 18: invalid responseTimeout: "
                      "[...], should be integer (ignored)");
    fx_expect_warning(&cfg, "line 6, column 15: invalid jobQueueSize: ~, "
                      "should be positive int (ignored)");
    assert_int_equal(cfg.nwarnings, 6);

    ts_model_config_clear(&cfg);
}


/* plain scalars typed as SnakeYAML types them, seen in the handler tree */

static void
test_scalar_resolution(void **state)
{
    size_t                 i;
    ts_model_config_t      cfg;
    const ts_yaml_node_t  *v;

    static const struct {
        const char      *key;
        ts_yaml_type_e   type;
        int64_t          i;
        int              b;
    } want[] = {
        { "a", TS_YAML_INT, -2147483648LL, 0 },
        { "b", TS_YAML_INT, 12, 0 },
        { "c", TS_YAML_STR, 0, 0 },          /* 0o17 is not YAML 1.1 */
        { "d", TS_YAML_STR, 0, 0 },          /* 08: no digit 8 in octal */
        { "e", TS_YAML_FLOAT, 0, 0 },
        { "f", TS_YAML_FLOAT, 0, 0 },
        { "g", TS_YAML_BOOL, 0, 1 },
        { "h", TS_YAML_STR, 0, 0 },          /* "n" is no YAML 1.1 bool */
        { "i", TS_YAML_BOOL, 0, 1 },
        { "j", TS_YAML_NULL, 0, 0 },
        { "k", TS_YAML_NULL, 0, 0 },
        { "l", TS_YAML_NULL, 0, 0 },
        { "m", TS_YAML_STR, 0, 0 },          /* timestamps: not kept */
        { "n", TS_YAML_STR, 0, 0 },
        { "o", TS_YAML_STR, 0, 0 },
        { "p", TS_YAML_STR, 0, 0 },
        { "q", TS_YAML_INT, -255, 0 },
        { "r", TS_YAML_STR, 0, 0 },
        { "s", TS_YAML_BOOL, 0, 0 },
        { "t", TS_YAML_FLOAT, 0, 0 },
        { "u", TS_YAML_STR, 0, 0 },          /* base 60: not kept */
        { "v", TS_YAML_STR, 0, 0 },          /* "TRue": no such case */
        { "w", TS_YAML_FLOAT, 0, 0 },
        { "x", TS_YAML_STR, 0, 0 },
        { "y", TS_YAML_INT, 0, 0 },
    };

    fx_parse("handler:\n"
             "  a: -2147483648\n"
             "  b: +12\n"
             "  c: 0o17\n"
             "  d: 08\n"
             "  e: 1e3\n"
             "  f: -.inf\n"
             "  g: YES\n"
             "  h: n\n"
             "  i: on\n"
             "  j: null\n"
             "  k:\n"
             "  l: ~\n"
             "  m: 2001-12-14\n"
             "  n: 2001-12-14t21:59:43.10-05:00\n"
             "  o: 'yes'\n"
             "  p: |\n    12\n"
             "  q: -0xff\n"
             "  r: 12abc\n"
             "  s: Off\n"
             "  t: 1_0.5_0\n"
             "  u: 1:30\n"
             "  v: TRue\n"
             "  w: .5\n"
             "  x: 1.2.3\n"
             "  y: -0\n", &cfg);

    for (i = 0; i < FX_COUNT(want); i++) {
        v = fx_handler_get(&cfg, want[i].key);

        if (v->type != want[i].type) {
            fail_msg("%s: \"%s\" is a %s, want a %s", want[i].key, v->str,
                     ts_yaml_type_name(v->type),
                     ts_yaml_type_name(want[i].type));
        }

        if (want[i].type == TS_YAML_INT) {
            assert_int_equal(v->i, want[i].i);
            assert_int_equal(v->i_bits, 32);
        }

        if (want[i].type == TS_YAML_BOOL) {
            assert_int_equal(v->b, want[i].b);
        }
    }

    assert_true(fx_handler_get(&cfg, "e")->d == 1000.0);
    assert_true(fx_handler_get(&cfg, "f")->d < -1e308);
    assert_true(fx_handler_get(&cfg, "t")->d == 10.5);
    assert_true(fx_handler_get(&cfg, "w")->d == 0.5);
    assert_string_equal(fx_handler_get(&cfg, "p")->str, "12\n");
    assert_string_equal(fx_handler_get(&cfg, "m")->str, "2001-12-14");

    ts_model_config_clear(&cfg);
}


/* integers past 32 bits: a Long, then a BigInteger */

static void
test_integer_widths(void **state)
{
    ts_model_config_t      cfg;
    const ts_yaml_node_t  *v;

    fx_parse("handler:\n"
             "  long: 2147483648\n"
             "  min64: -9223372036854775808\n"
             "  big: 9223372036854775808\n"
             "  hex: 0xffffffffffffffffff\n", &cfg);

    v = fx_handler_get(&cfg, "long");
    assert_int_equal(v->type, TS_YAML_INT);
    assert_int_equal(v->i_bits, 64);
    assert_int_equal(v->i, 2147483648LL);

    v = fx_handler_get(&cfg, "min64");
    assert_int_equal(v->i_bits, 64);
    assert_true(v->i == INT64_MIN);

    v = fx_handler_get(&cfg, "big");
    assert_int_equal(v->type, TS_YAML_INT);
    assert_int_equal(v->i_bits, 0);
    assert_string_equal(v->str, "9223372036854775808");

    assert_int_equal(fx_handler_get(&cfg, "hex")->i_bits, 0);

    ts_model_config_clear(&cfg);
}


/* the handler mapping, as handlers will read it */

static void
test_handler_tree(void **state)
{
    ts_model_config_t      cfg;
    const ts_yaml_node_t  *h, *v, *m;

    fx_parse("minWorkers: 1\n"
             "handler:\n"
             "  topk: 3\n"
             "  threshold: 0.25\n"
             "  labels: [cat, \"dog\", 7]\n"
             "  resize:\n"
             "    size: [224, 224]\n"
             "    center: true\n"
             "  mode: ~\n"
             "  topk: 5\n", &cfg);

    h = cfg.handler;
    assert_non_null(h);
    assert_int_equal(h->type, TS_YAML_MAP);
    assert_int_equal(h->line, 3);
    assert_int_equal(h->column, 3);
    assert_int_equal(h->n, 6);

    /* a later duplicate wins */
    assert_int_equal(fx_handler_get(&cfg, "topk")->i, 5);

    v = fx_handler_get(&cfg, "threshold");
    assert_int_equal(v->type, TS_YAML_FLOAT);
    assert_true(v->d == 0.25);

    v = fx_handler_get(&cfg, "labels");
    assert_int_equal(v->type, TS_YAML_SEQ);
    assert_int_equal(v->n, 3);
    assert_int_equal(v->items[0]->type, TS_YAML_STR);
    assert_string_equal(v->items[1]->str, "dog");
    assert_int_equal(v->items[1]->len, 3);
    assert_int_equal(v->items[2]->type, TS_YAML_INT);
    assert_int_equal(v->items[2]->line, 5);
    assert_int_equal(v->items[2]->column, 24);

    m = fx_handler_get(&cfg, "resize");
    assert_int_equal(m->type, TS_YAML_MAP);
    v = ts_yaml_map_get(m, "size");
    assert_non_null(v);
    assert_int_equal(v->n, 2);
    assert_int_equal(v->items[1]->i, 224);
    v = ts_yaml_map_get(m, "center");
    assert_non_null(v);
    assert_int_equal(v->type, TS_YAML_BOOL);
    assert_int_equal(v->b, 1);

    assert_int_equal(fx_handler_get(&cfg, "mode")->type, TS_YAML_NULL);

    /* only string keys, only in mappings */
    assert_null(ts_yaml_map_get(h, "nope"));
    assert_null(ts_yaml_map_get(fx_handler_get(&cfg, "labels"), "cat"));
    assert_null(ts_yaml_map_get(NULL, "topk"));

    assert_int_equal(cfg.nwarnings, 0);

    ts_model_config_clear(&cfg);
}


static void
test_handler_not_a_mapping(void **state)
{
    ts_model_config_t  cfg;

    fx_parse("handler: image_classifier\n", &cfg);
    assert_null(cfg.handler);
    fx_expect_warning(&cfg, "line 1, column 10: invalid handler: "
                      "image_classifier, should be a mapping (ignored)");
    ts_model_config_clear(&cfg);

    fx_parse("handler: [1, 2]\n", &cfg);
    assert_null(cfg.handler);
    assert_int_equal(cfg.nwarnings, 1);
    ts_model_config_clear(&cfg);

    /* "handler:" alone is no handler section, and no mistake */
    fx_parse("handler:\nbatchSize: 2\n", &cfg);
    assert_null(cfg.handler);
    assert_int_equal(cfg.nwarnings, 0);
    assert_int_equal(cfg.batch_size.value, 2);
    ts_model_config_clear(&cfg);
}


/* keys that are not ours, TorchServe's or the handler's: no effect */

static void
test_unknown_keys_ignored(void **state)
{
    ts_model_config_t  cfg;

    fx_parse("startupTimeout: x\n"
             "parallelType: nonsense\n"
             "torchrun: 3\n"
             "useVenv: maybe\n"
             "minworkers: 9\n"          /* keys are case-sensitive */
             "\"batchSize\": 3\n"        /* a quoted key is the same key */
             "1: one\n"
             "[a]: list key\n"
             "pt2: {compile: true}\n", &cfg);

    assert_false(cfg.min_workers.set);
    assert_int_equal(cfg.batch_size.value, 3);
    assert_null(cfg.handler);
    assert_int_equal(cfg.nwarnings, 0);

    /* each named, with its place, for the server's debug log */
    assert_int_equal(cfg.nignored, 8);
    assert_string_equal(cfg.ignored[0],
                        "line 1, column 1: startupTimeout (not used by the "
                        "server)");
    assert_string_equal(cfg.ignored[4],
                        "line 5, column 1: minworkers (not used by the "
                        "server)");
    assert_string_equal(cfg.ignored[5],
                        "line 7, column 1: 1 (not used by the server)");
    assert_string_equal(cfg.ignored[7],
                        "line 9, column 1: pt2 (not used by the server)");

    ts_model_config_clear(&cfg);
}


/* SnakeYAML builds a map: only the last value of a key counts */

static void
test_duplicates(void **state)
{
    ts_model_config_t  cfg;

    fx_parse("minWorkers: 1\n"
             "minWorkers: 4\n"
             "batchSize: 8\n"
             "batchSize: big\n"
             "deviceIds: [0, 1]\n"
             "deviceIds: [2]\n"
             "handler: {a: 1}\n"
             "handler: {b: 2}\n", &cfg);

    assert_int_equal(cfg.min_workers.value, 4);
    assert_false(cfg.batch_size.set);
    fx_expect_warning(&cfg, "line 4, column 12: invalid batchSize: big, "
                      "should be integer (ignored)");
    assert_int_equal(cfg.device_ids.n, 1);
    assert_int_equal(cfg.device_ids.ids[0], 2);
    assert_null(ts_yaml_map_get(cfg.handler, "a"));
    assert_non_null(ts_yaml_map_get(cfg.handler, "b"));
    assert_int_equal(cfg.nwarnings, 1);

    ts_model_config_clear(&cfg);
}


/* libyaml resolves anchors and aliases; merge keys are not kept */

static void
test_aliases(void **state)
{
    ts_model_config_t      cfg;
    const ts_yaml_node_t  *v;

    fx_parse("defaults: &d\n"
             "  size: 8\n"
             "  labels: &l [cat, dog]\n"
             "n: &n 3\n"
             "ids: &ids [0, 1]\n"
             "deviceIds: *ids\n"
             "batchSize: *n\n"
             "handler:\n"
             "  base: *d\n"
             "  more: *l\n"
             "  <<: *d\n", &cfg);

    assert_true(cfg.device_ids.set);
    assert_int_equal(cfg.device_ids.n, 2);
    assert_int_equal(cfg.device_ids.ids[1], 1);
    assert_int_equal(cfg.batch_size.value, 3);

    /* an alias is a copy, placed where the anchor is */
    v = fx_handler_get(&cfg, "base");
    assert_int_equal(v->type, TS_YAML_MAP);
    assert_int_equal(v->line, 1);
    assert_int_equal(v->column, 11);
    assert_int_equal(ts_yaml_map_get(v, "size")->i, 8);
    assert_int_equal(ts_yaml_map_get(v, "labels")->n, 2);

    v = fx_handler_get(&cfg, "more");
    assert_string_equal(v->items[1]->str, "dog");

    /* "<<" is an ordinary key: nothing merged into the handler mapping */
    assert_int_equal(fx_handler_get(&cfg, "<<")->type, TS_YAML_MAP);
    assert_null(ts_yaml_map_get(cfg.handler, "size"));

    ts_model_config_clear(&cfg);
}


static void
test_empty(void **state)
{
    size_t             i;
    ts_model_config_t  cfg;

    static const char  *empty[] = {
        "", "# only a comment\n", "---\n", "~\n", "---\n...\n", "null",
    };

    for (i = 0; i < FX_COUNT(empty); i++) {
        fx_parse(empty[i], &cfg);

        assert_null(cfg.handler);
        assert_false(cfg.min_workers.set);
        assert_int_equal(cfg.response_timeout.value, 120);
        assert_int_equal(cfg.nwarnings, 0);

        ts_model_config_clear(&cfg);
    }
}


static void
test_errors(void **state)
{
    fx_refuse("a: 1\n  b: 2\n",
              "line 2, column 4: mapping values are not allowed in this "
              "context");
    fx_refuse("a: [1, 2\n",
              "line 2, column 1: while parsing a flow sequence did not find "
              "expected ',' or ']'");
    fx_refuse("---\na: 1\n---\nb: 2\n",
              "line 3, column 1: expected a single document in the stream, "
              "but found another document");
    fx_refuse("a: 1\n---\n",
              "line 2, column 1: expected a single document in the stream, "
              "but found another document");
    fx_refuse("- 1\n- 2\n",
              "line 1, column 1: the top level is a list, not a mapping of "
              "keys to values");
    fx_refuse("just text\n",
              "line 1, column 1: the top level is a string, not a mapping "
              "of keys to values");
    fx_refuse("42\n",
              "line 1, column 1: the top level is a integer, not a mapping "
              "of keys to values");
    fx_refuse("a: *nope\n", "line 1, column 4: found undefined alias");
    fx_refuse("\tminWorkers: 1\n",
              "line 1, column 1: while scanning for the next token found "
              "character that cannot start any token");

    /* libyaml refuses what SnakeYAML allows: an anchor given twice */
    fx_refuse("a: &x 1\nb: &x 2\n",
              "line 2, column 4: found duplicate anchor; first occurrence "
              "second occurrence");

    /* a syntax error where no key is ours still refuses the file */
    fx_refuse("minWorkers: 2\nother: [\n", "line 3, column 1: *");
}


static void
test_deep_nesting_refused(void **state)
{
    char               yaml[512], *big;
    size_t             n;
    ts_model_config_t  cfg;

    /* 63 lists deep is fine (the mapping is the 64th level) ... */
    n = (size_t) snprintf(yaml, sizeof(yaml), "a: ");
    memset(yaml + n, '[', 63);
    memset(yaml + n + 63, ']', 63);
    yaml[n + 126] = '\0';

    fx_parse(yaml, &cfg);
    ts_model_config_clear(&cfg);

    /* ... 64 is not, in any key */
    memset(yaml + n, '[', 64);
    memset(yaml + n + 64, ']', 64);
    yaml[n + 128] = '\0';

    fx_refuse(yaml, "line 1, column 67: nested more than 64 deep");

    /* a scalar counts as a level too */
    memset(yaml + n, '[', 63);
    yaml[n + 63] = '1';
    memset(yaml + n + 64, ']', 63);
    yaml[n + 127] = '\0';

    fx_refuse(yaml, "line 1, column 67: nested more than 64 deep");

    /* refused before libyaml loads it: its scanner is quadratic in depth,
     * so this would take minutes (a second for 20000) */
    big = malloc(2 * 300000 + 4);
    assert_non_null(big);
    memcpy(big, "a: ", 3);
    memset(big + 3, '[', 300000);
    memset(big + 3 + 300000, ']', 300000);
    big[3 + 2 * 300000] = '\0';

    fx_refuse(big, "line 1, column 67: nested more than 64 deep");
    free(big);

    /* an alias to itself, which libyaml allows, is as deep as the limit */
    fx_refuse("handler: &x [*x]\n", "line 1, column 10: nested more than "
              "64 deep");
}


/* billion laughs: each alias is a copy, so the copies are counted */

static void
test_alias_bomb_refused(void **state)
{
    int                i, j;
    char               yaml[2048], err[256], *big;
    size_t             n, len;
    ts_model_config_t  cfg;

    n = (size_t) snprintf(yaml, sizeof(yaml), "l0: &l0 [lol]\n");

    for (i = 1; i < 10; i++) {
        n += (size_t) snprintf(yaml + n, sizeof(yaml) - n, "l%d: &l%d [", i,
                               i);

        for (j = 0; j < 10; j++) {
            n += (size_t) snprintf(yaml + n, sizeof(yaml) - n, "%s*l%d",
                                   j ? ", " : "", i - 1);
        }

        n += (size_t) snprintf(yaml + n, sizeof(yaml) - n, "]\n");
    }

    /* libyaml keeps no place for an alias: the message names an anchor's */
    fx_refuse(yaml, "line *");
    assert_int_equal(ts_model_config_parse(yaml, n, &cfg, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, ": more than 100000 nodes"));

    /* a long text copied at each of its uses is bounded too */
    len = 1 << 20;
    big = malloc(len + 200);
    assert_non_null(big);

    n = (size_t) snprintf(big, 200, "t: &t ");
    memset(big + n, 'x', len);
    n += len;
    n += (size_t) snprintf(big + n, 200, "\nh: [*t, *t, *t, *t, *t, *t, *t, "
                           "*t, *t]\n");

    assert_int_equal(ts_model_config_parse(big, n, &cfg, err, sizeof(err)),
                     -1);
    assert_string_equal(err, "line 1, column 4: more than 8388608 bytes of "
                        "text");
    free(big);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_torchserve_valid),
        cmocka_unit_test(test_torchserve_invalid),
        cmocka_unit_test(test_all_keys),
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_scalar_resolution),
        cmocka_unit_test(test_integer_widths),
        cmocka_unit_test(test_handler_tree),
        cmocka_unit_test(test_handler_not_a_mapping),
        cmocka_unit_test(test_unknown_keys_ignored),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_aliases),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_deep_nesting_refused),
        cmocka_unit_test(test_alias_bomb_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
