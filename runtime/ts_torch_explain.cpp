/*
 * ts_torch_explain.cpp: Integrated Gradients with libtorch's autograd, as
 * Captum's IntegratedGradients.attribute(x, target=t, n_steps=15) computes
 * them for TorchServe's explanations (zero baseline, "gausslegendre"):
 *
 *   alphas  a_k = (1 + node_k) / 2,   weights w_k = weight_k / 2
 *   scaled  x_k = baseline + a_k (x - baseline), all k in one forward
 *   attr    = (x - baseline) * sum_k w_k d output[:, t] / d x_k
 *
 * with the nodes and weights of the n-point Gauss-Legendre rule on
 * [-1, 1] (numpy's leggauss), found here by Newton's method.
 */

#include <cmath>
#include <vector>

#include <torch/script.h>
#include <torch/csrc/autograd/autograd.h>

#include "ts_torch_int.h"


/* the n-point Gauss-Legendre rule on [-1, 1], nodes ascending */
static void
ts_gauss_legendre(int n, std::vector<double> &nodes,
    std::vector<double> &weights)
{
    nodes.assign(n, 0.0);
    weights.assign(n, 0.0);

    for (int i = 0; i < (n + 1) / 2; i++) {
        /* Tricomi's first guess of the i-th largest root, then Newton */
        double  x = std::cos(M_PI * (i + 0.75) / (n + 0.5));
        double  dp = 0.0;

        for (int iter = 0; iter < 100; iter++) {
            double  p0 = 1.0, p1 = x;

            for (int k = 2; k <= n; k++) {
                double  p2 = ((2.0 * k - 1.0) * x * p1 - (k - 1.0) * p0) / k;

                p0 = p1;
                p1 = p2;
            }

            /* P_n(x) = p1, P_{n-1}(x) = p0 */
            dp = n * (x * p1 - p0) / (x * x - 1.0);

            double  dx = p1 / dp;

            x -= dx;

            if (std::fabs(dx) < 1e-16) {
                break;
            }
        }

        double  w = 2.0 / ((1.0 - x * x) * dp * dp);

        nodes[n - 1 - i] = x;
        nodes[i] = -x;
        weights[n - 1 - i] = w;
        weights[i] = w;
    }
}


extern "C" {


ts_status_e
ts_model_integrated_gradients(ts_model_t *m, const ts_tensor_t *x,
    int64_t target, int steps, ts_tensor_t *out, char *err,
    size_t errlen) noexcept
{
    memset(out, 0, sizeof(*out));

    TS_TRY

    ts_torch_apply_intra_op_threads();

    /* predictions run under InferenceMode; this call needs autograd */
    c10::InferenceMode      no_inference(false);
    torch::AutoGradMode     grad(true);

    if (x->dtype != TS_FLOAT32 && x->dtype != TS_FLOAT64
        && x->dtype != TS_FLOAT16)
    {
        ts_set_err(err, errlen, "explanations need a floating-point input: "
                   "an integer input has no gradient");
        return TS_STATUS_BAD_INPUT;
    }

    if (x->ndim < 1 || steps < 1) {
        ts_set_err(err, errlen, "explanations need an input with a batch "
                   "dimension");
        return TS_STATUS_BAD_INPUT;
    }

    at::Tensor  input = ts_to_torch_tensor(x, m->device);
    at::Tensor  baseline = torch::zeros_like(input);
    int64_t     n = input.size(0);

    std::vector<double>  nodes, weights;

    ts_gauss_legendre(steps, nodes, weights);

    std::vector<at::Tensor>  parts;

    for (int k = 0; k < steps; k++) {
        parts.push_back(baseline + 0.5 * (1.0 + nodes[k]) * (input - baseline));
    }

    at::Tensor  scaled = torch::cat(parts, 0).detach().requires_grad_(true);

    std::vector<c10::IValue>  inputs{scaled};
    c10::IValue               result = m->rep.forward(inputs);

    if (!result.isTensor()) {
        ts_set_err(err, errlen, "explanations need a forward that returns "
                   "one tensor");
        return TS_STATUS_BAD_INPUT;
    }

    at::Tensor  y = result.toTensor();
    at::Tensor  selected;

    if (y.dim() == 2) {
        if (target < 0 || target >= y.size(1)) {
            ts_set_err(err, errlen,
                       ("target " + std::to_string(target) + " is not one of "
                        "the model's " + std::to_string(y.size(1))
                        + " outputs").c_str());
            return TS_STATUS_BAD_INPUT;
        }

        selected = y.select(1, target);

    } else if (y.dim() == 1) {
        selected = y;

    } else {
        ts_set_err(err, errlen, "explanations need an output of one value, "
                   "or one row of values, per instance");
        return TS_STATUS_BAD_INPUT;
    }

    if (!selected.requires_grad()) {
        ts_set_err(err, errlen, "the model's output does not depend on its "
                   "input through differentiable operations: there is no "
                   "gradient to explain it with");
        return TS_STATUS_BAD_INPUT;
    }

    at::Tensor  grads = torch::autograd::grad({selected.sum()}, {scaled})[0];

    /* [steps * n, ...] -> [steps, n, ...], weighted and summed over steps */
    std::vector<int64_t>  shape{steps, n};

    for (int64_t d = 1; d < input.dim(); d++) {
        shape.push_back(input.size(d));
    }

    std::vector<int64_t>  wshape(shape.size(), 1);

    wshape[0] = steps;

    std::vector<float>  w(steps);

    for (int k = 0; k < steps; k++) {
        w[k] = static_cast<float>(0.5 * weights[k]);
    }

    at::Tensor  step_sizes = torch::from_blob(w.data(), {steps},
                                              torch::kFloat)
                                 .to(grads.device(), grads.scalar_type())
                                 .view(wshape);

    at::Tensor  total = (grads.view(shape) * step_sizes).sum(0);
    at::Tensor  attr = (total * (input - baseline)).detach();

    ts_from_torch_tensor(attr, out);

    return TS_STATUS_OK;

    /* forward ran on this input before: what fails now is the input */
    TS_CATCH(TS_STATUS_BAD_INPUT)
}


} /* extern "C" */
