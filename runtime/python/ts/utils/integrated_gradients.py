"""Integrated Gradients as Captum's IntegratedGradients computes them
(captum.attr, the "gausslegendre" method), for the handlers' explanations:
Captum is not packaged by Debian, and TorchServe's vision handlers call
IntegratedGradients(model).attribute(x, target=t, n_steps=15).

    alphas a_k = (1 + node_k) / 2, step sizes w_k = weight_k / 2 (numpy's
    n-point Gauss-Legendre rule); every scaled input baseline + a_k (x -
    baseline) in one forward; attributions (x - baseline) * sum_k w_k
    d out[:, target] / d x_k.

The same arithmetic as runtime/ts_torch_explain.cpp, which answers the C
handlers' explanations."""

import numpy as np
import torch


class IntegratedGradients:
    """The part of captum.attr.IntegratedGradients handlers use."""

    def __init__(self, forward_func, multiply_by_inputs=True):
        self.forward_func = forward_func
        self.multiply_by_inputs = multiply_by_inputs

    def attribute(self, inputs, baselines=None, target=None,
                  additional_forward_args=None, n_steps=50,
                  method="gausslegendre", internal_batch_size=None,
                  return_convergence_delta=False):
        if method not in ("gausslegendre", "riemann_trapezoid"):
            raise ValueError("method {!r}: gausslegendre or "
                             "riemann_trapezoid here".format(method))
        single = isinstance(inputs, torch.Tensor)
        inputs = (inputs,) if single else tuple(inputs)
        if baselines is None:
            baselines = tuple(torch.zeros_like(x) for x in inputs)
        elif isinstance(baselines, (torch.Tensor, int, float)):
            baselines = (baselines,) * len(inputs)
        alphas, sizes = _rule(method, n_steps)
        n = inputs[0].shape[0]
        with torch.enable_grad():
            scaled = tuple(
                torch.cat([b + a * (x - b) for a in alphas]).detach()
                .requires_grad_()
                for x, b in zip(inputs, baselines))
            extra = () if additional_forward_args is None else (
                additional_forward_args
                if isinstance(additional_forward_args, tuple)
                else (additional_forward_args,))
            extra = tuple(_repeat(a, n_steps) for a in extra)
            out = self.forward_func(*scaled, *extra)
            selected = _select(out, target, n, n_steps)
            grads = torch.autograd.grad(torch.unbind(selected), scaled)
        attributions = []
        for x, b, g in zip(inputs, baselines, grads):
            weights = torch.tensor(sizes, dtype=g.dtype, device=g.device)
            total = (g.view(n_steps, *x.shape)
                     * weights.view(n_steps, *[1] * x.dim())).sum(0)
            attributions.append(total * (x - b) if self.multiply_by_inputs
                                else total)
        result = attributions[0] if single else tuple(attributions)
        if return_convergence_delta:
            raise NotImplementedError("return_convergence_delta")
        return result


def _rule(method, n):
    if method == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(n)
        return list(0.5 * (1 + nodes)), list(0.5 * weights)
    alphas = [i / (n - 1) for i in range(n)] if n > 1 else [1.0]
    sizes = [1 / (n - 1)] * n if n > 1 else [1.0]
    if n > 1:
        sizes[0] = sizes[-1] = 0.5 / (n - 1)
    return alphas, sizes


def _repeat(arg, n_steps):
    if isinstance(arg, torch.Tensor):
        return torch.cat([arg] * n_steps)
    return arg


def _select(out, target, n, n_steps):
    if isinstance(out, (tuple, list)):
        out = out[0]
    if target is None:
        if out.dim() > 1 and out[0].numel() != 1:
            raise ValueError("a target is needed for an output of "
                             "{} values per instance".format(out[0].numel()))
        return out.reshape(-1)
    if isinstance(target, torch.Tensor):
        target = target.tolist()
    if isinstance(target, (list, tuple)) and len(target) == n and \
            not isinstance(target[0], (list, tuple)):
        index = torch.tensor(list(target) * n_steps, device=out.device)
        return out.gather(1, index.view(-1, 1)).view(-1)
    if isinstance(target, (list, tuple)):
        target = tuple(target)
        return out[(slice(None),) + target]
    return out[:, int(target)]
