/*
 * ts_torch_vision.cpp: the vision handlers' post-processing on libtorch's
 * own kernels, so that the numbers are those TorchServe's Python computes
 * (softmax's vectorised exp and its summation order are torch's; ties in
 * topk and max are broken as torch breaks them).
 */

#include <torch/script.h>

#include <dlfcn.h>
#include <glob.h>

#include <mutex>

#include "ts_torch.h"
#include "ts_torch_int.h"


/* where Debian's python3-torchvision puts its operators */
#define TS_TORCHVISION_OPS  "/usr/lib/python3/dist-packages/torchvision/_C*.so"


bool
ts_torchvision_ops_load()
{
    static std::mutex   lock;
    static bool         tried;
    static std::string  failed;

    std::lock_guard<std::mutex>  guard(lock);
    glob_t                       g;

    if (tried) {
        if (!failed.empty()) {
            throw std::runtime_error(failed);
        }
        return false;
    }

    tried = true;

    if (glob(TS_TORCHVISION_OPS, 0, nullptr, &g) != 0 || g.gl_pathc == 0) {
        failed = "the model calls torchvision's operators and they were "
                 "not found (" TS_TORCHVISION_OPS "): install Debian's "
                 "python3-torchvision";
        globfree(&g);
        throw std::runtime_error(failed);
    }

    /* never closed: the operators stay registered for the process */
    if (dlopen(g.gl_pathv[0], RTLD_NOW | RTLD_GLOBAL) == nullptr) {
        failed = std::string("loading torchvision's operators failed: ")
                 + dlerror();
        globfree(&g);
        throw std::runtime_error(failed);
    }

    globfree(&g);
    return true;
}


static at::Tensor
ts_vision_scores(const ts_tensor_t *scores, int min_dim)
{
    if (scores->ndim < min_dim) {
        throw std::runtime_error("the model's output has "
                                 + std::to_string(scores->ndim)
                                 + " dimensions, expected at least "
                                 + std::to_string(min_dim));
    }

    return ts_to_torch_tensor(scores, torch::Device(torch::kCPU));
}


int
ts_torch_softmax_topk(const ts_tensor_t *scores, int k, ts_tensor_t *probs,
    ts_tensor_t *classes, char *err, size_t errlen) noexcept
{
    memset(probs, 0, sizeof(*probs));
    memset(classes, 0, sizeof(*classes));

    TS_TRY

    c10::InferenceMode  guard;
    at::Tensor          t = ts_vision_scores(scores, 2);

    if (k < 1 || k > t.size(1)) {
        throw std::runtime_error("topk " + std::to_string(k)
                                 + " is out of range for "
                                 + std::to_string(t.size(1)) + " classes");
    }

    auto  top = at::topk(at::softmax(t, 1), k, 1);

    ts_from_torch_tensor(std::get<0>(top), probs);
    ts_from_torch_tensor(std::get<1>(top), classes);
    return 0;

    TS_CATCH((ts_tensor_clear(probs), ts_tensor_clear(classes), -1))
}


/* one tensor in, one out: the three operations below share the rest */
template <typename Op>
static int
ts_vision_unary(const ts_tensor_t *scores, int min_dim, Op op,
    ts_tensor_t *out, char *err, size_t errlen) noexcept
{
    memset(out, 0, sizeof(*out));

    TS_TRY

    c10::InferenceMode  guard;

    ts_from_torch_tensor(op(ts_vision_scores(scores, min_dim)), out);
    return 0;

    TS_CATCH((ts_tensor_clear(out), -1))
}


int
ts_torch_softmax(const ts_tensor_t *scores, ts_tensor_t *out, char *err,
    size_t errlen) noexcept
{
    return ts_vision_unary(scores, 2,
                           [](const at::Tensor &t) { return at::softmax(t, 1); },
                           out, err, errlen);
}


int
ts_torch_argmax(const ts_tensor_t *scores, ts_tensor_t *out, char *err,
    size_t errlen) noexcept
{
    return ts_vision_unary(scores, 2,
                           [](const at::Tensor &t) { return at::argmax(t, 1); },
                           out, err, errlen);
}


int
ts_torch_segment(const ts_tensor_t *scores, ts_tensor_t *out, char *err,
    size_t errlen) noexcept
{
    return ts_vision_unary(scores, 4, [](const at::Tensor &t) {
        auto        best = at::max(at::softmax(t, 1), 1);
        at::Tensor  values = std::get<0>(best);
        at::Tensor  indices = std::get<1>(best).to(values.scalar_type());

        return at::stack({indices, values}, 3);
    }, out, err, errlen);
}
