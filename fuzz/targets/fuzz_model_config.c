/*
 * fuzz_model_config.c: libFuzzer target for model-config.yaml
 * (ts_model_config_parse, runtime/ts_model_config.c, over ts_yaml_load,
 * runtime/ts_yaml.c, over libyaml).
 *
 * One input is the file.  It is loaded as a ts_yaml tree first, whose
 * shape is checked against ts_yaml.h's limits and typing, then parsed as
 * the configuration, whose fields are checked against TorchServe's
 * clamping rules (ts_model_config.h).  Both are freed (LeakSanitizer).
 */

#include <errno.h>
#include <inttypes.h>

#include "ts_model_config.h"

#include "fuzz_util.h"


typedef struct {
    size_t  nodes;
    size_t  text;
} fuzz_yaml_count_t;


/* every node as ts_yaml.h describes it; depth 1 is the root */
static void
fuzz_yaml_walk(const ts_yaml_node_t *node, unsigned depth,
    fuzz_yaml_count_t *count)
{
    size_t  i, n;

    FUZZ_CHECK(node != NULL, "a NULL node in the tree");
    FUZZ_CHECK(depth <= TS_YAML_MAX_DEPTH, "depth %u", depth);
    FUZZ_CHECK(node->line >= 1 && node->column >= 1, "line %u, column %u",
               node->line, node->column);

    switch (node->type) {

    case TS_YAML_SEQ:
    case TS_YAML_MAP:
        n = (node->type == TS_YAML_MAP) ? 2 * node->n : node->n;
        count->nodes += n;
        FUZZ_CHECK(count->nodes <= TS_YAML_MAX_NODES, "%zu nodes",
                   count->nodes);

        for (i = 0; i < n; i++) {
            fuzz_yaml_walk(node->items[i], depth + 1, count);
        }

        break;

    case TS_YAML_NULL:
    case TS_YAML_BOOL:
    case TS_YAML_INT:
    case TS_YAML_FLOAT:
    case TS_YAML_STR:
        FUZZ_CHECK(node->str != NULL && node->str[node->len] == '\0',
                   "a scalar's text is not a C string");
        count->text += node->len + 1;
        FUZZ_CHECK(count->text <= TS_YAML_MAX_TEXT, "%zu bytes of text",
                   count->text);

        if (node->type == TS_YAML_BOOL) {
            FUZZ_CHECK(node->b == 0 || node->b == 1, "bool %d", node->b);
        }

        if (node->type == TS_YAML_INT) {
            FUZZ_CHECK(node->i_bits == 0 || node->i_bits == 32
                       || node->i_bits == 64, "i_bits %d", node->i_bits);
            FUZZ_CHECK(node->i_bits != 32
                       || (node->i >= INT32_MIN && node->i <= INT32_MAX),
                       "%" PRId64 " said to fit 32 bits", node->i);
            FUZZ_CHECK(node->i_bits != 0 || node->i == 0,
                       "a too large integer keeps %" PRId64, node->i);
        }

        break;

    default:
        FUZZ_CHECK(0, "node type %d", (int) node->type);
    }
}


static void
fuzz_check_int(const ts_config_int_t *f, int min, const char *name)
{
    FUZZ_CHECK(f->set == 0 || f->set == 1, "%s: set %u", name, f->set);
    FUZZ_CHECK(!f->set || f->value >= min, "%s: %d below %d", name,
               f->value, min);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                err[512];
    size_t              i;
    ts_yaml_node_t     *root;
    fuzz_yaml_count_t   count;
    ts_model_config_t   cfg;

    err[0] = '\0';

    if (ts_yaml_load((const char *) data, size, &root, err, sizeof(err))
        == 0)
    {
        if (root != NULL) {
            memset(&count, 0, sizeof(fuzz_yaml_count_t));
            fuzz_yaml_walk(root, 1, &count);

            /* a look-up of a key that is and of one that is not there */
            (void) ts_yaml_map_get(root, "handler");
            (void) ts_yaml_map_get(root, "");
        }

        ts_yaml_free(root);

    } else {
        FUZZ_CHECK(err[0] != '\0', "a YAML refusal without a message");
    }

    err[0] = '\0';

    if (ts_model_config_parse((const char *) data, size, &cfg, err,
                              sizeof(err))
        != 0)
    {
        FUZZ_CHECK(err[0] != '\0', "a refusal without a message");
        FUZZ_CHECK(cfg.handler == NULL && cfg.nwarnings == 0
                   && cfg.nignored == 0 && cfg.device_ids.ids == NULL,
                   "a refused configuration keeps its parts");
        return 0;
    }

    fuzz_check_int(&cfg.min_workers, 1, "minWorkers");
    fuzz_check_int(&cfg.max_workers, 0, "maxWorkers");
    fuzz_check_int(&cfg.batch_size, 1, "batchSize");
    fuzz_check_int(&cfg.max_batch_delay, 0, "maxBatchDelay");
    fuzz_check_int(&cfg.response_timeout, 1, "responseTimeout");
    fuzz_check_int(&cfg.job_queue_size, 0, "jobQueueSize");

    FUZZ_CHECK(cfg.response_timeout.set || cfg.response_timeout.value == 120,
               "responseTimeout's default is %d",
               cfg.response_timeout.value);

    FUZZ_CHECK(!cfg.device_type.set
               || cfg.device_type.value == TS_DEVICE_CPU
               || cfg.device_type.value == TS_DEVICE_GPU,
               "deviceType %d", (int) cfg.device_type.value);

    FUZZ_CHECK(cfg.device_ids.set || cfg.device_ids.ids == NULL,
               "deviceIds kept while not set");

    if (cfg.handler != NULL) {
        FUZZ_CHECK(cfg.handler->type == TS_YAML_MAP, "handler is a %s",
                   ts_yaml_type_name(cfg.handler->type));

        memset(&count, 0, sizeof(fuzz_yaml_count_t));
        fuzz_yaml_walk(cfg.handler, 2, &count);
    }

    for (i = 0; i < cfg.nwarnings; i++) {
        FUZZ_CHECK(strncmp(cfg.warnings[i], "line ", 5) == 0,
                   "warning \"%s\"", cfg.warnings[i]);
    }

    for (i = 0; i < cfg.nignored; i++) {
        FUZZ_CHECK(strncmp(cfg.ignored[i], "line ", 5) == 0,
                   "ignored \"%s\"", cfg.ignored[i]);
    }

    ts_model_config_clear(&cfg);

    return 0;
}
