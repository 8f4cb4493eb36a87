"""SmoothQuant-style activation smoothing (Xiao et al., 2023) ahead of dynamic int8 quantization.

onnxruntime's dynamic quantization gives each activation tensor one int8 scale per run, so a few
outlier channels (common after LayerNorm and GELU in transformer encoders) crush every other channel's
resolution. For each encoder Linear, `x @ W.T` is rewritten as `(x / s) @ (W * s).T` with a per-input-
channel `s = max|x|^α / max|W|^(1-α)` measured on training text; the product is unchanged in float,
while the quantized activation loses its outliers. The division is an elementwise Mul in the graph.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .finetune import collate


class SmoothedLinear(nn.Module):
    def __init__(self, linear: nn.Linear, scale: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("inv_scale", 1.0 / scale)
        self.linear = nn.Linear(linear.in_features, linear.out_features, bias=linear.bias is not None)
        with torch.no_grad():
            self.linear.weight.copy_(linear.weight * scale)
            if linear.bias is not None:
                self.linear.bias.copy_(linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x * self.inv_scale)


def _encoder_linears(encoder: nn.Module) -> dict[str, nn.Linear]:
    return {name: m for name, m in encoder.named_modules() if isinstance(m, nn.Linear)}


@torch.no_grad()
def activation_maxima(encoder: nn.Module, forward, batches: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> dict[str, torch.Tensor]:
    maxima: dict[str, torch.Tensor] = {}
    hooks = []
    for name, linear in _encoder_linears(encoder).items():
        def hook(_m, inputs, _out, name=name):
            x = inputs[0].detach().abs().reshape(-1, inputs[0].shape[-1]).amax(dim=0)
            maxima[name] = torch.maximum(maxima[name], x) if name in maxima else x
        hooks.append(linear.register_forward_hook(hook))
    try:
        for ids, mask in batches:
            forward(ids, mask)
    finally:
        for h in hooks:
            h.remove()
    return maxima


@torch.no_grad()
def smooth_encoder(encoder: nn.Module, forward, ids_list: Sequence[list[int]], pad_id: int,
                   alpha: float = 0.5, batch_size: int = 16) -> int:
    """Rewrites the encoder's Linears in place; returns how many it smoothed."""
    batches = [collate(list(ids_list[i : i + batch_size]), pad_id) for i in range(0, len(ids_list), batch_size)]
    maxima = activation_maxima(encoder, forward, batches)
    linears = _encoder_linears(encoder)
    for name, linear in linears.items():
        if name not in maxima:
            continue
        w_max = linear.weight.abs().amax(dim=0).clamp(min=1e-5)
        scale = (maxima[name].clamp(min=1e-5) ** alpha / w_max ** (1 - alpha)).clamp(min=1e-2, max=1e2)
        parent_name, _, child = name.rpartition(".")
        parent = encoder.get_submodule(parent_name) if parent_name else encoder
        setattr(parent, child, SmoothedLinear(linear, scale))
    return len(maxima)
