/*
 * test_model_config.c: model-config.yaml read as TorchServe reads it
 * (ModelConfig.build over SnakeYAML's types).  The first two tests are
 * TorchServe's own (frontend/archive/src/test/.../ModelConfigTest.java on
 * its valid.yaml and invalid.yaml).
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


static void
fx_refuse(const char *yaml, const char *want)
{
    char               err[512];
    ts_model_config_t  cfg;

    strcpy(err, "untouched");

    if (ts_model_config_parse(yaml, strlen(yaml), &cfg, err, sizeof(err))
        == 0)
    {
        ts_model_config_clear(&cfg);
        fail_msg("\"%s\" should be refused", yaml);
    }

    if (strcmp(err, want) != 0) {
        fail_msg("\"%s\": got \"%s\", want \"%s\"", yaml, err, want);
    }

    /* cleared: nothing to free, nothing set */
    assert_null(cfg.root);
    assert_null(cfg.warnings);
    assert_int_equal(cfg.min_workers.set, 0);
}


static int
fx_has_warning(const ts_model_config_t *cfg, const char *text)
{
    size_t  i;

    for (i = 0; i < cfg->nwarnings; i++) {
        if (strcmp(cfg->warnings[i], text) == 0) {
            return 1;
        }
    }

    return 0;
}


static void
fx_expect_warning(const ts_model_config_t *cfg, const char *text)
{
    size_t  i;

    if (fx_has_warning(cfg, text)) {
        return;
    }

    for (i = 0; i < cfg->nwarnings; i++) {
        print_message("warning %zu: %s\n", i, cfg->warnings[i]);
    }

    fail_msg("no warning \"%s\"", text);
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
    assert_int_equal(cfg.response_timeout.value, 120);
    assert_false(cfg.startup_timeout.set);
    assert_int_equal(cfg.startup_timeout.value, 120);
    assert_true(cfg.device_type.set);
    assert_int_equal(cfg.device_type.value, TS_DEVICE_GPU);
    assert_int_equal(cfg.parallel_level.value, 4);
    assert_int_equal(cfg.parallel_type.value, TS_PARALLEL_PP);
    assert_true(cfg.device_ids.set);
    assert_int_equal(cfg.device_ids.n, 4);
    assert_int_equal(cfg.device_ids.ids[2], 2);
    assert_true(cfg.torchrun.set);
    assert_int_equal(cfg.torchrun.nproc_per_node.value, 4);
    assert_false(cfg.torchrun.node_rank.set);
    assert_int_equal(cfg.torchrun.node_rank.value, 0);
    assert_null(cfg.torchrun.rdzv_backend.value);      /* "c10d" */
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
    assert_int_equal(cfg.startup_timeout.value, 120);
    assert_false(cfg.device_type.set);
    assert_int_equal(cfg.device_type.value, TS_DEVICE_NONE);
    assert_false(cfg.parallel_level.set);
    assert_int_equal(cfg.parallel_level.value, 0);
    assert_false(cfg.parallel_type.set);
    assert_false(cfg.device_ids.set);
    assert_null(cfg.device_ids.ids);

    fx_expect_warning(&cfg, "line 2, column 13: invalid minWorkers: a, "
                      "should be integer (ignored)");
    fx_expect_warning(&cfg, "line 7, column 13: invalid deviceType: xpu, "
                      "should be cpu, or gpu (ignored)");
    fx_expect_warning(&cfg, "line 8, column 12: invalid deviceIds: "
                      "0,1,2,3], should be list of integer (ignored)");
    fx_expect_warning(&cfg, "line 9, column 15: invalid parallelType: xpp, "
                      "should be pp, tp, or pptp (ignored)");
    assert_int_equal(cfg.nwarnings, 4);

    ts_model_config_clear(&cfg);
}


/* every key of API.md section 6, with its type */

static void
test_all_keys(void **state)
{
    ts_model_config_t  cfg;

    fx_parse("minWorkers: 2\n"
             "maxWorkers: 4\n"
             "batchSize: 8\n"
             "maxBatchDelay: 50\n"
             "responseTimeout: 30\n"
             "startupTimeout: 60\n"
             "deviceType: CPU\n"
             "deviceIds: [1]\n"
             "parallelType: tp\n"
             "parallelLevel: 2\n"
             "maxRetryTimeoutInSec: 10\n"
             "clientTimeoutInMills: 2500\n"
             "jobQueueSize: 100\n"
             "useJobTicket: true\n"
             "continuousBatching: yes\n"
             "sequenceBatching: on\n"
             "sequenceMaxIdleMSec: 7\n"
             "sequenceTimeoutMSec: 9\n"
             "maxSequenceJobQueueSize: 3\n"
             "maxNumSequence: 5\n"
             "asyncCommunication: True\n"
             "useVenv: false\n"
             "torchrun:\n"
             "  nnodes: 2\n"
             "  nproc-per-node: 3\n"
             "  rdzv-backend: etcd\n"
             "  rdzv-endpoint: host:29400\n"
             "  rdzv-conf: timeout=5\n"
             "  monitor-interval: 2\n"
             "  node-rank: 1\n"
             "  OMP_NUMBER_THREADS: 4\n", &cfg);

    assert_int_equal(cfg.min_workers.value, 2);
    assert_int_equal(cfg.max_workers.value, 4);
    assert_int_equal(cfg.batch_size.value, 8);
    assert_int_equal(cfg.max_batch_delay.value, 50);
    assert_int_equal(cfg.response_timeout.value, 30);
    assert_true(cfg.startup_timeout.set);
    assert_int_equal(cfg.startup_timeout.value, 60);
    assert_int_equal(cfg.device_type.value, TS_DEVICE_CPU);
    assert_int_equal(cfg.device_ids.n, 1);
    assert_int_equal(cfg.device_ids.ids[0], 1);
    assert_int_equal(cfg.parallel_type.value, TS_PARALLEL_TP);
    assert_int_equal(cfg.max_retry_timeout_in_sec.value, 10);
    assert_true(cfg.client_timeout_in_mills.set);
    assert_int_equal(cfg.client_timeout_in_mills.value, 2500);
    assert_int_equal(cfg.job_queue_size.value, 100);
    assert_true(cfg.use_job_ticket.set);
    assert_int_equal(cfg.use_job_ticket.value, 1);
    assert_int_equal(cfg.continuous_batching.value, 1);
    assert_int_equal(cfg.sequence_batching.value, 1);
    assert_int_equal(cfg.sequence_max_idle_msec.value, 7);
    assert_int_equal(cfg.sequence_timeout_msec.value, 9);
    assert_int_equal(cfg.max_sequence_job_queue_size.value, 3);
    assert_int_equal(cfg.max_num_sequence.value, 5);
    assert_int_equal(cfg.async_communication.value, 1);
    assert_true(cfg.use_venv.set);
    assert_int_equal(cfg.use_venv.value, 0);

    assert_int_equal(cfg.torchrun.nnodes.value, 2);
    assert_int_equal(cfg.torchrun.nproc_per_node.value, 3);
    assert_string_equal(cfg.torchrun.rdzv_backend.value, "etcd");
    assert_string_equal(cfg.torchrun.rdzv_endpoint.value, "host:29400");
    assert_string_equal(cfg.torchrun.rdzv_conf.value, "timeout=5");
    assert_int_equal(cfg.torchrun.monitor_interval.value, 2);
    assert_int_equal(cfg.torchrun.node_rank.value, 1);
    assert_int_equal(cfg.torchrun.omp_number_threads.value, 4);

    /* torchrun came after parallelLevel: its nproc-per-node wins */
    assert_int_equal(cfg.parallel_level.value, 3);

    assert_int_equal(cfg.nwarnings, 0);

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
             "startupTimeout: -1\n"
             "jobQueueSize: -7\n"
             "clientTimeoutInMills: -1\n"
             "maxNumSequence: 0\n"
             "maxSequenceJobQueueSize: -2\n"
             "maxRetryTimeoutInSec: -9\n"
             "parallelLevel: -1\n"
             "torchrun:\n"
             "  nnodes: 0\n"
             "  node-rank: -1\n"
             "  bogus: 1\n", &cfg);

    assert_true(cfg.min_workers.set);
    assert_int_equal(cfg.min_workers.value, 1);
    assert_int_equal(cfg.batch_size.value, 1);
    assert_false(cfg.max_workers.set);
    assert_false(cfg.max_batch_delay.set);
    assert_false(cfg.response_timeout.set);
    assert_int_equal(cfg.response_timeout.value, 120);
    assert_false(cfg.startup_timeout.set);
    assert_int_equal(cfg.job_queue_size.value, 0);
    assert_true(cfg.job_queue_size.set);
    assert_int_equal(cfg.client_timeout_in_mills.value, 0);
    assert_int_equal(cfg.max_num_sequence.value, 1);
    assert_int_equal(cfg.max_sequence_job_queue_size.value, 1);
    assert_int_equal(cfg.max_retry_timeout_in_sec.value, 0);
    assert_false(cfg.torchrun.nnodes.set);
    assert_int_equal(cfg.torchrun.nnodes.value, 1);
    assert_false(cfg.torchrun.node_rank.set);

    /* parallelLevel -1 was ignored; torchrun then set it to 1 */
    assert_true(cfg.parallel_level.set);
    assert_int_equal(cfg.parallel_level.value, 1);

    fx_expect_warning(&cfg, "line 3, column 13: invalid maxWorkers: -1 "
                      "(ignored)");
    fx_expect_warning(&cfg, "line 5, column 18: invalid responseTimeout: 0 "
                      "(ignored)");
    fx_expect_warning(&cfg, "line 14, column 11: invalid torchrun.nnodes: 0, "
                      "reset to 1");
    fx_expect_warning(&cfg, "line 16, column 3: unsupported torchrun "
                      "parameter bogus");

    ts_model_config_clear(&cfg);
}


/* SnakeYAML's YAML 1.1 types decide what TorchServe accepts */

static void
test_types(void **state)
{
    ts_model_config_t      cfg;
    const ts_yaml_node_t  *v;

    fx_parse("minWorkers: 0x10\n"         /* hex: 16 */
             "maxWorkers: 017\n"          /* octal: 15 */
             "batchSize: 0b101\n"         /* binary: 5 */
             "maxBatchDelay: 1_000\n"     /* 1000 */
             "responseTimeout: 1:30\n"    /* base 60: 90 */
             "startupTimeout: \"60\"\n"   /* a string: ignored */
             "jobQueueSize: !!int \"12\"\n"
             "clientTimeoutInMills: 2147483648\n"   /* a Long: ignored */
             "sequenceMaxIdleMSec: 1.5\n"           /* a Double: ignored */
             "useJobTicket: \"true\"\n"             /* a string: ignored */
             "useVenv: Off\n"
             "continuousBatching: 1\n"              /* not a Boolean */
             "deviceType: 1\n"
             "parallelType: !!str pp\n"
             "deviceIds: [0, \"1\"]\n"
             "asyncCommunication: ~\n", &cfg);

    assert_int_equal(cfg.min_workers.value, 16);
    assert_int_equal(cfg.max_workers.value, 15);
    assert_int_equal(cfg.batch_size.value, 5);
    assert_int_equal(cfg.max_batch_delay.value, 1000);
    assert_int_equal(cfg.response_timeout.value, 90);
    assert_false(cfg.startup_timeout.set);
    assert_true(cfg.job_queue_size.set);
    assert_int_equal(cfg.job_queue_size.value, 12);
    assert_false(cfg.client_timeout_in_mills.set);
    assert_false(cfg.sequence_max_idle_msec.set);
    assert_false(cfg.use_job_ticket.set);
    assert_true(cfg.use_venv.set);
    assert_int_equal(cfg.use_venv.value, 0);
    assert_false(cfg.continuous_batching.set);
    assert_false(cfg.device_type.set);
    assert_int_equal(cfg.parallel_type.value, TS_PARALLEL_PP);
    assert_false(cfg.device_ids.set);
    assert_false(cfg.async_communication.set);

    fx_expect_warning(&cfg, "line 6, column 17: invalid startupTimeout: 60, "
                      "should be integer (ignored)");
    fx_expect_warning(&cfg, "line 8, column 23: invalid "
                      "clientTimeoutInMills: 2147483648, should be positive "
                      "long (ignored)");
    fx_expect_warning(&cfg, "line 15, column 16: invalid deviceIds: 1 (the "
                      "list is ignored)");

    v = ts_model_config_get(&cfg, "clientTimeoutInMills");
    assert_non_null(v);
    assert_int_equal(v->type, TS_YAML_INT);
    assert_int_equal(v->i_bits, 64);
    assert_int_equal(v->i, 2147483648LL);

    ts_model_config_clear(&cfg);
}


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
        { "m", TS_YAML_TIMESTAMP, 0, 0 },
        { "n", TS_YAML_TIMESTAMP, 0, 0 },
        { "o", TS_YAML_STR, 0, 0 },
        { "p", TS_YAML_STR, 0, 0 },
        { "q", TS_YAML_INT, -255, 0 },
        { "r", TS_YAML_STR, 0, 0 },
    };

    fx_parse("a: -2147483648\n"
             "b: +12\n"
             "c: 0o17\n"
             "d: 08\n"
             "e: 1e3\n"
             "f: -.inf\n"
             "g: YES\n"
             "h: n\n"
             "i: on\n"
             "j: null\n"
             "k:\n"
             "l: ~\n"
             "m: 2001-12-14\n"
             "n: 2001-12-14t21:59:43.10-05:00\n"
             "o: 'yes'\n"
             "p: |\n  12\n"
             "q: -0xff\n"
             "r: 12abc\n", &cfg);

    for (i = 0; i < FX_COUNT(want); i++) {
        v = ts_model_config_get(&cfg, want[i].key);
        assert_non_null(v);

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

    v = ts_model_config_get(&cfg, "e");
    assert_true(v->d == 1000.0);

    v = ts_model_config_get(&cfg, "p");
    assert_string_equal(v->str, "12\n");

    ts_model_config_clear(&cfg);
}


/* anchors, aliases, merge keys and duplicates, as SnakeYAML builds maps */

static void
test_aliases_and_merges(void **state)
{
    ts_model_config_t      cfg;
    const ts_yaml_node_t  *v, *handler;

    fx_parse("defaults: &d\n"
             "  batchSize: 8\n"
             "  maxWorkers: 3\n"
             "  maxBatchDelay: 7\n"
             "more: &m {jobQueueSize: 9, maxBatchDelay: 70}\n"
             "<<: [*d, *m]\n"
             "batchSize: 2\n"
             "minWorkers: 1\n"
             "minWorkers: 4\n"
             "ids: &ids [0, 1]\n"
             "deviceIds: *ids\n"
             "handler:\n"
             "  topk: 3\n"
             "  labels: [cat, dog]\n"
             "\"<<\": quoted\n", &cfg);

    /* own keys win over merged ones; among merges the first wins */
    assert_int_equal(cfg.batch_size.value, 2);
    assert_int_equal(cfg.max_workers.value, 3);
    assert_int_equal(cfg.max_batch_delay.value, 7);
    assert_int_equal(cfg.job_queue_size.value, 9);

    /* a later duplicate replaces the value */
    assert_int_equal(cfg.min_workers.value, 4);

    assert_true(cfg.device_ids.set);
    assert_int_equal(cfg.device_ids.n, 2);
    assert_int_equal(cfg.device_ids.ids[1], 1);

    /* the handler's own keys */
    handler = ts_model_config_get(&cfg, "handler");
    assert_non_null(handler);
    assert_int_equal(handler->type, TS_YAML_MAP);
    assert_int_equal(handler->line, 13);
    assert_int_equal(handler->column, 3);

    v = ts_yaml_map_get(handler, "topk");
    assert_non_null(v);
    assert_int_equal(v->i, 3);

    v = ts_yaml_map_get(handler, "labels");
    assert_non_null(v);
    assert_int_equal(v->type, TS_YAML_SEQ);
    assert_int_equal(v->n, 2);
    assert_string_equal(v->items[1]->str, "dog");

    assert_null(ts_yaml_map_get(handler, "nope"));
    assert_null(ts_yaml_map_get(v, "topk"));

    /* a quoted "<<" is an ordinary key */
    v = ts_model_config_get(&cfg, "<<");
    assert_non_null(v);
    assert_string_equal(v->str, "quoted");

    /* one entry per key: the root has no "<<" merge entry */
    assert_int_equal(cfg.root->n, 11);

    ts_model_config_clear(&cfg);
}


static void
test_empty(void **state)
{
    size_t             i;
    ts_model_config_t  cfg;

    static const char  *empty[] = {
        "", "# only a comment\n", "---\n", "~\n", "---\n...\n",
    };

    for (i = 0; i < FX_COUNT(empty); i++) {
        fx_parse(empty[i], &cfg);

        assert_null(cfg.root);
        assert_false(cfg.min_workers.set);
        assert_int_equal(cfg.response_timeout.value, 120);
        assert_null(ts_model_config_get(&cfg, "minWorkers"));

        ts_model_config_clear(&cfg);
    }
}


static void
test_errors(void **state)
{
    char  laughs[1024];
    int   i, n;

    fx_refuse("a: 1\n  b: 2\n",
              "line 2, column 4: mapping values are not allowed in this "
              "context");
    fx_refuse("a: [1, 2\n",
              "line 2, column 1: while parsing a flow sequence did not find "
              "expected ',' or ']'");
    fx_refuse("---\na: 1\n---\nb: 2\n",
              "line 3, column 1: expected a single document in the stream, "
              "but found another document");
    fx_refuse("- 1\n- 2\n",
              "line 1, column 1: the top level is a list, not a mapping of "
              "keys to values");
    fx_refuse("just text\n",
              "line 1, column 1: the top level is a string, not a mapping "
              "of keys to values");
    fx_refuse("a: !foo 1\n", "line 1, column 4: unsupported tag \"!foo\"");
    fx_refuse("a: !!int x\n", "line 1, column 4: cannot read \"x\" as !!int");
    fx_refuse("a: !!map [1]\n",
              "line 1, column 4: unsupported tag \"!!map\" on a list");
    fx_refuse("a: *nope\n", "line 1, column 4: found undefined alias "
              "\"nope\"");
    fx_refuse("a: &x [*x]\n", "line 1, column 8: found undefined alias "
              "\"x\"");
    fx_refuse("<<: 3\n", "line 1, column 1: expected a mapping or list of "
              "mappings for merging, but found a integer (line 1, column 5)");
    fx_refuse("\tminWorkers: 1\n",
              "line 1, column 1: while scanning for the next token found "
              "character that cannot start any token");

    /* billion laughs: aliases to collections are bounded */
    n = snprintf(laughs, sizeof(laughs), "a: &a [1]\nb: [");

    for (i = 0; i <= TS_MODEL_CONFIG_MAX_ALIASES; i++) {
        n += snprintf(laughs + n, sizeof(laughs) - n, "%s*a", i ? "," : "");
    }

    snprintf(laughs + n, sizeof(laughs) - n, "]\n");

    fx_refuse(laughs, "line 2, column 155: more than 50 aliases to lists or "
              "mappings");
}


static void
test_deep_nesting_refused(void **state)
{
    char               yaml[512], err[256];
    size_t             n;
    ts_model_config_t  cfg;

    /* 63 lists deep is fine (the mapping is the 64th level) ... */
    n = (size_t) snprintf(yaml, sizeof(yaml), "a: ");
    memset(yaml + n, '[', 63);
    memset(yaml + n + 63, ']', 63);
    yaml[n + 126] = '\0';

    fx_parse(yaml, &cfg);
    ts_model_config_clear(&cfg);

    /* ... 100 is not */
    memset(yaml + n, '[', 100);
    memset(yaml + n + 100, ']', 100);
    yaml[n + 200] = '\0';

    assert_int_equal(ts_model_config_parse(yaml, strlen(yaml), &cfg, err,
                                           sizeof(err)), -1);
    assert_string_equal(err, "line 1, column 67: nested more than 64 deep");
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
        cmocka_unit_test(test_aliases_and_merges),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_deep_nesting_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
