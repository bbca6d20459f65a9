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
 * libyaml loads the document (yaml_parser_load resolves anchors and
 * aliases), which is copied into a tree of ts_yaml_node_t.  Plain scalars
 * get SnakeYAML's implicit types: int (decimal, 0x, 0b, leading-0 octal,
 * '_' after the first digit), bool (true/yes/on and their opposites, in
 * lower, Capitalised or UPPER case), null (~, null, empty), float (1.5,
 * .5, 1e3, [-+].inf, .nan); other plain scalars, and quoted and block
 * ones, are strings.  A tag is not checked, but makes a quoted scalar
 * typed as a plain one ("!!int '12'" is 12).  Not kept: merge keys
 * ("<<"), base-60 numbers and timestamps (strings here), "!!str" on a
 * plain scalar (libyaml tags every untagged scalar so: quote instead).
 *
 * A syntax error, more than one document, or a top level that is not a
 * mapping makes the whole file an error (TorchServe then logs "Failed to
 * parse model config yaml file." and goes on without it), as does a tree
 * past the limits below, an alias being copied at each use; the message
 * gives the line and column.  An empty file is an empty configuration.
 */

#ifndef TS_MODEL_CONFIG_H
#define TS_MODEL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* bounds of the whole tree, aliases counted each time they are used */
#define TS_MODEL_CONFIG_MAX_NODES     100000
#define TS_MODEL_CONFIG_MAX_DEPTH     64
#define TS_MODEL_CONFIG_MAX_TEXT      (8 << 20)     /* bytes of scalars */


typedef enum {
    TS_YAML_NULL = 0,
    TS_YAML_BOOL,
    TS_YAML_INT,
    TS_YAML_FLOAT,
    TS_YAML_STR,
    TS_YAML_SEQ,
    TS_YAML_MAP
} ts_yaml_type_e;


typedef struct ts_yaml_node_s  ts_yaml_node_t;

struct ts_yaml_node_s {
    ts_yaml_type_e    type;
    char             *str;        /* a scalar's text (every scalar type) */
    size_t            len;
    int               b;          /* TS_YAML_BOOL */
    int64_t           i;          /* TS_YAML_INT, when i_bits != 0 */
    int               i_bits;     /* 32: fits int32_t (a Java Integer);
                                     64: int64_t only; 0: even larger */
    double            d;          /* TS_YAML_FLOAT */
    ts_yaml_node_t  **items;      /* TS_YAML_SEQ: n items; TS_YAML_MAP: */
    size_t            n;          /* n keys and n values, interleaved */
    unsigned          line;       /* 1-based, where the node starts */
    unsigned          column;
};


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
} ts_model_config_t;


/*
 * Parses len bytes of YAML into cfg (zeroed first; may be uninitialised).
 * Returns 0, or -1 with "line L, column C: <cause>" (or "out of memory")
 * in err and cfg cleared.
 */
int ts_model_config_parse(const char *yaml, size_t len,
    ts_model_config_t *cfg, char *err, size_t errlen);

void ts_model_config_clear(ts_model_config_t *cfg);

/* a mapping's value for a string key (the last one given), or NULL (also
 * when map is NULL or not a mapping) */
const ts_yaml_node_t *ts_yaml_map_get(const ts_yaml_node_t *map,
    const char *key);

const char *ts_yaml_type_name(ts_yaml_type_e type);

#ifdef __cplusplus
}
#endif

#endif /* TS_MODEL_CONFIG_H */
