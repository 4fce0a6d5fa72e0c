"""The fine-tuned network: a BERT encoder, mean pooling over real tokens, one logit per label.

E5 was trained with mean pooling and its checkpoint has no pooler weights, so the stock
``BertForSequenceClassification`` (CLS token through a freshly initialized dense + tanh pooler)
starts far from anything the encoder learned and converges slowly. Pooling by the mean, as E5
does, lets the multi-label head read the representation the encoder already produces.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import AutoModelForSequenceClassification, BertConfig
from transformers.modeling_outputs import SequenceClassifierOutput
from transformers.models.bert.modeling_bert import BertModel, BertPreTrainedModel

POOLING_KEY = "vcguard_pooling"  # stored in config.json, so export and reload pick the right class
POOLINGS = ("mean", "cls")


class MeanPoolingClassifier(BertPreTrainedModel):
    """Multi-label classifier over the attention-masked mean of the last hidden states."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=False)
        dropout = config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                labels: torch.Tensor | None = None, **kwargs: Any) -> SequenceClassifierOutput:
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        logits = self.classifier(self.dropout(pooled))
        loss = None
        if labels is not None:
            loss = nn.functional.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))
        return SequenceClassifierOutput(loss=loss, logits=logits)


def new_classifier(base: str | Path, labels: list[str], pooling: str) -> nn.Module:
    """A multi-label classifier on ``base`` with the given pooling (``mean`` or ``cls``)."""
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    kwargs: dict[str, Any] = dict(num_labels=len(labels), problem_type="multi_label_classification",
                                  id2label=dict(enumerate(labels)), label2id={label: i for i, label in enumerate(labels)})
    if pooling == "cls":
        model = AutoModelForSequenceClassification.from_pretrained(base, **kwargs)
    else:
        config = BertConfig.from_pretrained(base, **kwargs)
        model = MeanPoolingClassifier.from_pretrained(base, config=config)
    setattr(model.config, POOLING_KEY, pooling)
    return model


def load_fine_tuned(checkpoint_dir: str | Path, **kwargs: Any) -> nn.Module:
    """Reload a fine-tuned checkpoint with the class its config names (eval mode)."""
    path = Path(checkpoint_dir)
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"not a checkpoint directory (no config.json): {path}")
    config = BertConfig.from_pretrained(path)
    if getattr(config, POOLING_KEY, "cls") == "mean":
        model = MeanPoolingClassifier.from_pretrained(path, **kwargs)
    else:
        model = AutoModelForSequenceClassification.from_pretrained(path, **kwargs)
    return model.eval()
