"""The multi-task ticket model: any Hugging Face encoder + queue, priority, type and tag heads."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from transformers import AutoConfig, AutoModel

# Encoders whose forward takes token_type_ids; DistilBERT and friends do not.
_NO_TOKEN_TYPES = {"distilbert", "xlm-roberta", "roberta", "camembert", "deberta-v2"}


def encoder_input_names(model_type: str) -> list[str]:
    names = ["input_ids", "attention_mask"]
    if model_type not in _NO_TOKEN_TYPES:
        names.append("token_type_ids")
    return names


def load_encoder(base: str | Path, max_layers: int = 0) -> nn.Module:
    """`max_layers` > 0 keeps at most the encoder's first layers (layer dropping, Sajjad et al. 2023): the top
    layers of a pretrained encoder matter least after fine-tuning, and each one costs latency."""
    config = AutoConfig.from_pretrained(base, local_files_only=True)
    if max_layers:
        config.num_hidden_layers = min(config.num_hidden_layers, max_layers)
    # Eager attention exports to a plain ONNX graph that onnxruntime quantizes well.
    kwargs: dict[str, object] = {"local_files_only": True, "attn_implementation": "eager", "config": config}
    if config.model_type == "bert":
        kwargs["add_pooling_layer"] = False
    return AutoModel.from_pretrained(base, **kwargs)


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)


class TicketModel(nn.Module):
    def __init__(self, encoder: nn.Module, n_labels: int, n_priorities: int, n_types: int, n_tags: int,
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        hidden = encoder.config.hidden_size
        self.model_type = encoder.config.model_type
        self.dropout = nn.Dropout(dropout)
        self.queue_head = nn.Linear(hidden, n_labels)
        self.priority_head = nn.Linear(hidden, n_priorities)
        # Training-only auxiliary heads: the CSV's `type` and `tags` columns are extra signal.
        self.type_head = nn.Linear(hidden, max(n_types, 1))
        self.tag_head = nn.Linear(hidden, max(n_tags, 1))

    def pooled(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
               token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if "token_type_ids" in encoder_input_names(self.model_type):
            kwargs["token_type_ids"] = torch.zeros_like(input_ids) if token_type_ids is None else token_type_ids
        hidden = self.encoder(**kwargs).last_hidden_state
        return mean_pool(hidden, attention_mask)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        pooled = self.pooled(input_ids, attention_mask)
        x = self.dropout(pooled)
        return {
            "pooled": pooled,
            "queue": self.queue_head(x),
            "priority": self.priority_head(x),
            "type": self.type_head(x),
            "tags": self.tag_head(x),
        }


class ServingModel(nn.Module):
    """What ONNX gets: calibrated queue probabilities, expected urgency, normalised embedding."""

    def __init__(self, model: TicketModel, temperature: float, priority_scores: list[float]) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("inv_temperature", torch.tensor(1.0 / temperature))
        self.register_buffer("priority_scores", torch.tensor(priority_scores, dtype=torch.float32))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor | None = None):
        pooled = self.model.pooled(input_ids, attention_mask, token_type_ids)
        queue_probs = torch.softmax(self.model.queue_head(pooled) * self.inv_temperature, dim=-1)
        urgency = torch.softmax(self.model.priority_head(pooled), dim=-1) @ self.priority_scores
        embedding = nn.functional.normalize(pooled, dim=-1)
        return queue_probs, urgency, embedding
