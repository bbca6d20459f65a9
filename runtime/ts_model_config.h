/*
 * ts_model_config.h: an archive's model-config.yaml (the manifest's
 * "configFile"), reduced to what the server uses.
 *
 * TorchServe loads the file with SnakeYAML (YAML 1.1 types) and takes the
 * keys it knows from the top-level mapping (ModelConfig.build).  We read
 * the ones the server acts on, with TorchServe's rules: a value of the
 * wrong type is ignored with a warning, and the setters clamp or ignore
 * values out of range (minWorkers and batchSize at least 1, negative
 * maxWorkers or maxBatchDelay ignored, ...).  An integer is an Integer to
 * TorchServe only when it fits in 32 bits; a larger one is a wrong type.
 * A later duplicate key wins.  The "handler" mapping, which custom
 * handlers read, is kept as a small tree; other keys are ignored.
 *
 * The file is loaded as a ts_yaml tree (ts_yaml.h says how scalars are
 * typed and what is kept).  A syntax error, more than one document, a
 * tree past ts_yaml's limits, or a top level that is not a mapping makes
 * the whole file an error (TorchServe then logs "Failed to parse model
 * config yaml file." and goes on without it); the message gives the line
 * and column.  An empty file is an empty configuration.
 */

#ifndef TS_MODEL_CONFIG_H
#define TS_MODEL_CONFIG_H

#include <stddef.h>

#include "ts_yaml.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    TS_DEVICE_NONE = 0,           /* not given, or not "cpu"/"gpu" */
    TS_DEVICE_CPU,
    TS_DEVICE_GPU
} ts_device_type_e;


/*
 * A field is "set" when the file gave it a value TorchServe accepts (after
 * TorchServe's clamping); otherwise value holds TorchServe's default
 * (0 unless the comment says otherwise).
 */
typedef struct {
    unsigned  set;
    int       value;
} ts_config_int_t;


typedef struct {
    ts_config_int_t       min_workers;          /* >= 1 (clamped) */
    ts_config_int_t       max_workers;          /* < 0 ignored */
    ts_config_int_t       batch_size;           /* >= 1 (clamped) */
    ts_config_int_t       max_batch_delay;      /* ms; < 0 ignored */
    ts_config_int_t       response_timeout;     /* s; <= 0 ignored; 120 */
    ts_config_int_t       job_queue_size;       /* >= 0 (clamped) */
    struct {
        unsigned          set;                  /* "cpu" or "gpu" given */
        ts_device_type_e  value;
    }                     device_type;
    struct {
        unsigned          set;                  /* a list of integers */
        int              *ids;
        size_t            n;
    }                     device_ids;

    /* the "handler" mapping, for handlers to read; NULL when absent */
    ts_yaml_node_t       *handler;

    /* what TorchServe would log as warnings, "line L, column C: ..." */
    char                **warnings;
    size_t                nwarnings;

    /* top-level keys the server does not use, "line L, column C: key" */
    char                **ignored;
    size_t                nignored;
} ts_model_config_t;


/*
 * Parses len bytes of YAML into cfg (zeroed first; may be uninitialised).
 * Returns 0, or -1 with "line L, column C: <cause>" (or "out of memory")
 * in err and cfg cleared.
 */
int ts_model_config_parse(const char *yaml, size_t len,
    ts_model_config_t *cfg, char *err, size_t errlen);

void ts_model_config_clear(ts_model_config_t *cfg);

#ifdef __cplusplus
}
#endif

#endif /* TS_MODEL_CONFIG_H */
