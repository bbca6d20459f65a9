/*
 * ts_vision.h: what TorchServe's vision handlers share (its VisionHandler),
 * for the C handlers image_classifier, image_segmenter and object_detector.
 *
 * Each handler starts from TorchServe's transforms and answers; the
 * archive's model-config.yaml "handler" section may change them:
 *
 *     handler:
 *       resize: 256          # the shorter side; [h, w]; none
 *       crop: 224            # CenterCrop; [h, w]; none
 *       mean: [0.485, 0.456, 0.406]
 *       std: [0.229, 0.224, 0.225]
 *       normalize: false     # ToTensor's [0, 1] only
 *       channels: 1          # 1: Pillow's convert("L"); 3: "RGB"
 *       topk: 5
 *       postprocess: topk    # argmax, softmax, raw
 *       threshold: 0.5       # object_detector's minimum score
 *       max_image_pixels: 89478485    # 0 or limit_max_image_pixels: false
 *
 * Labels come from the archive's index_to_name.json, as TorchServe reads
 * it ({"<index>": "label"}, a list's last item, {"object_type_names"}).
 */

#ifndef TS_VISION_H
#define TS_VISION_H

#include <jansson.h>

#include "ts_handler.h"
#include "ts_image.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    TS_VISION_TOPK = 0,         /* {label: probability}, the top k */
    TS_VISION_ARGMAX,           /* the best class's index */
    TS_VISION_SOFTMAX,          /* every class's probability */
    TS_VISION_RAW               /* forward's output row as it is */
} ts_vision_post_e;


typedef struct {
    ts_image_decode_options_t  decode;
    ts_image_transform_t       transform;
    int                        topk;
    ts_vision_post_e           post;
    double                     threshold;
    json_t                    *labels;     /* index_to_name.json, or NULL */
    int                        list_input; /* forward takes List[Tensor] */
} ts_vision_t;


/* TorchServe's ImageNet transforms: Resize(256), CenterCrop(224), ... */
void ts_vision_imagenet(ts_vision_t *v);

/*
 * The servable's ts_vision_t (s->handler_data) from the defaults, the
 * archive's model-config.yaml "handler" section and index_to_name.json.
 * 0, or -1 with a message naming the key or file at fault.
 */
int ts_vision_init(ts_servable_t *s, const ts_vision_t *defaults, char *err,
    size_t errlen);

void ts_vision_free(ts_servable_t *s);

/*
 * The handlers' preprocess: each pending request's image (or JSON list)
 * decoded and transformed straight into its row of one float tensor;
 * requests whose result has another shape stay pending for a later batch
 * (for List[Tensor] models every image is its own list item).
 */
int ts_vision_preprocess(ts_servable_t *s, ts_request_t *reqs, size_t n,
    ts_batch_t *batch, char *err, size_t errlen);

/* class cls's label: the mapping's, else its number written into buf */
const char *ts_vision_label(const ts_vision_t *v, int64_t cls, char *buf,
    size_t len);

/* r answered with v as Python's json.dumps(v, indent=2); 0 or -1 */
int ts_vision_answer(ts_request_t *r, const ts_value_t *v);

#ifdef __cplusplus
}
#endif

#endif /* TS_VISION_H */
