/*
 * ts_model_config.h: an archive's model-config.yaml (the manifest's
 * "configFile") read as TorchServe's frontend reads it.
 *
 * TorchServe loads the file with SnakeYAML (YAML 1.1 types) and takes the
 * keys it knows from the top-level mapping (ModelConfig.build): a value
 * of the wrong type is ignored with a warning, and the setters clamp or
 * ignore values out of range (minWorkers and batchSize at least 1,
 * negative maxWorkers or maxBatchDelay ignored, ...).  Every other key is
 * the handler's business; they are all kept here, in file order.
 *
 * Parsing is libyaml's; scalars get SnakeYAML's implicit types (int with
 * 0x/0o-style prefixes, '_' and base-60, yes/no/on/off booleans, null,
 * floats, timestamps), explicit "!!int"-style tags are honoured, anchors
 * and aliases are resolved (at most TS_MODEL_CONFIG_MAX_ALIASES, as
 * SnakeYAML limits them), "<<" merge keys merged, and a later duplicate
 * key wins.  An integer is an Integer to TorchServe only when it fits in
 * 32 bits; a larger one is ignored as a wrong type.
 *
 * A syntax error, more than one document, a top level that is not a
 * mapping or an unknown tag makes the whole file an error (TorchServe
 * then logs "Failed to parse model config yaml file." and goes on without
 * it); the message gives the line and column.  An empty file is an empty
 * configuration.
 */

#ifndef TS_MODEL_CONFIG_H
#define TS_MODEL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TS_MODEL_CONFIG_MAX_ALIASES   50
#define TS_MODEL_CONFIG_MAX_NODES     100000
#define TS_MODEL_CONFIG_MAX_DEPTH     64


typedef enum {
    TS_YAML_NULL = 0,
    TS_YAML_BOOL,
    TS_YAML_INT,
    TS_YAML_FLOAT,
    TS_YAML_STR,
    TS_YAML_TIMESTAMP,            /* its text is in str */
    TS_YAML_SEQ,
    TS_YAML_MAP
} ts_yaml_type_e;


typedef struct ts_yaml_node_s  ts_yaml_node_t;

struct ts_yaml_node_s {
    ts_yaml_type_e    type;
    char             *str;        /* a scalar's text (every scalar type) */
    size_t            len;
    int               b;          /* TS_YAML_BOOL */
    int64_t           i;          /* TS_YAML_INT, when i_bits <= 64 */
    int               i_bits;     /* 32: fits int32_t (a Java Integer);
                                     64: int64_t only; 0: even larger */
    double            d;          /* TS_YAML_FLOAT */
    ts_yaml_node_t  **items;      /* TS_YAML_SEQ: n items; TS_YAML_MAP: */
    size_t            n;          /* n keys and n values, interleaved */
    unsigned          plain;      /* a plain scalar (no quotes, no tag) */
    unsigned          line;       /* 1-based, where the node starts */
    unsigned          column;
    unsigned          refs;       /* aliases share nodes */
};


typedef enum {
    TS_DEVICE_NONE = 0,           /* not given, or not "cpu"/"gpu" */
    TS_DEVICE_CPU,
    TS_DEVICE_GPU
} ts_device_type_e;


typedef enum {
    TS_PARALLEL_NONE = 0,
    TS_PARALLEL_PP,
    TS_PARALLEL_TP,
    TS_PARALLEL_PPTP,
    TS_PARALLEL_CUSTOM
} ts_parallel_type_e;


/*
 * A field is "set" when the file gave it a value TorchServe accepts (after
 * TorchServe's clamping); otherwise value holds TorchServe's default
 * (0 unless the comment says otherwise; strings NULL).
 */
typedef struct {
    unsigned  set;
    int       value;
} ts_config_int_t;

typedef struct {
    unsigned  set;
    int64_t   value;
} ts_config_long_t;

typedef struct {
    unsigned  set;
    int       value;              /* 0 or 1 */
} ts_config_bool_t;

typedef struct {
    unsigned  set;
    char     *value;              /* malloc'd */
} ts_config_str_t;


typedef struct {
    unsigned          set;        /* "torchrun" was a mapping */
    ts_config_int_t   nnodes;               /* default 1 */
    ts_config_int_t   nproc_per_node;       /* "nproc-per-node", 1 */
    ts_config_str_t   rdzv_backend;         /* "rdzv-backend", "c10d" */
    ts_config_str_t   rdzv_endpoint;        /* "rdzv-endpoint" */
    ts_config_str_t   rdzv_conf;            /* "rdzv-conf" */
    ts_config_int_t   monitor_interval;     /* "monitor-interval", 5 */
    ts_config_int_t   node_rank;            /* "node-rank", 0 */
    ts_config_int_t   omp_number_threads;   /* "OMP_NUMBER_THREADS", 1 */
} ts_config_torchrun_t;


typedef struct {
    ts_config_int_t       min_workers;          /* >= 1 (clamped) */
    ts_config_int_t       max_workers;          /* < 0 ignored */
    ts_config_int_t       batch_size;           /* >= 1 (clamped) */
    ts_config_int_t       max_batch_delay;      /* ms; < 0 ignored */
    ts_config_int_t       response_timeout;     /* s; <= 0 ignored; 120 */
    ts_config_int_t       startup_timeout;      /* s; <= 0 ignored; 120 */
    struct {
        unsigned          set;                  /* "cpu" or "gpu" given */
        ts_device_type_e  value;
    }                     device_type;
    struct {
        unsigned          set;                  /* a list of integers */
        int              *ids;
        size_t            n;
    }                     device_ids;
    struct {
        unsigned            set;                /* pp, tp, pptp, custom */
        ts_parallel_type_e  value;
    }                     parallel_type;
    ts_config_int_t       parallel_level;       /* < 0 ignored */
    ts_config_torchrun_t  torchrun;
    ts_config_int_t       max_retry_timeout_in_sec;  /* >= 0; 300 */
    ts_config_long_t      client_timeout_in_mills;   /* >= 0 */
    ts_config_int_t       job_queue_size;            /* >= 0 */
    ts_config_bool_t      use_job_ticket;
    ts_config_long_t      sequence_max_idle_msec;    /* >= 0 */
    ts_config_long_t      sequence_timeout_msec;     /* >= 0 */
    ts_config_int_t       max_sequence_job_queue_size;   /* >= 1; 1 */
    ts_config_int_t       max_num_sequence;              /* >= 1; 1 */
    ts_config_bool_t      continuous_batching;
    ts_config_bool_t      sequence_batching;
    ts_config_bool_t      async_communication;
    ts_config_bool_t      use_venv;

    /* the whole top-level mapping (NULL for an empty file) */
    ts_yaml_node_t       *root;

    /* what TorchServe would log as warnings, "line L, column C: ..." */
    char                **warnings;
    size_t                nwarnings;
} ts_model_config_t;


/*
 * Parses len bytes of YAML into cfg (zeroed first; may be uninitialised).
 * Returns 0, or -1 with "line L, column C: <cause>" in err and cfg
 * cleared.
 */
int ts_model_config_parse(const char *yaml, size_t len,
    ts_model_config_t *cfg, char *err, size_t errlen);

void ts_model_config_clear(ts_model_config_t *cfg);

/* a top-level key's value (the last one given), or NULL */
const ts_yaml_node_t *ts_model_config_get(const ts_model_config_t *cfg,
    const char *key);

/* a mapping's value for key, or NULL (also when map is not a mapping) */
const ts_yaml_node_t *ts_yaml_map_get(const ts_yaml_node_t *map,
    const char *key);

const char *ts_yaml_type_name(ts_yaml_type_e type);

#ifdef __cplusplus
}
#endif

#endif /* TS_MODEL_CONFIG_H */
