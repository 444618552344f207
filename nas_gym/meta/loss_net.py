"""LAMANAS's learned task loss L_train(z, y; phi): a small network on the logits and labels.

As the paper (section 5) and its authors' code describe it: the input is each example's logits
concatenated with its label (the class index as one number), embedded by a linear layer;

- ``lstm`` (the paper's best): ELU of the embedding, as a length-1 sequence of batch N through
  5 stacked LSTM layers (hidden 64) whose hidden and cell states start at the label value,
  then Linear(64, 32), [+ CE], ELU, Linear(32, 1);
- ``fnn``: the embedding, [+ CE], ELU, Linear(64, 1);

then the mean over the batch. ``residual`` adds the batch's cross-entropy to the layer marked
[+ CE] (the paper's "cross entropy residual connection"; without it Table 1 reports chance).
Linear layers get orthogonal initialisation, as in the paper (the output row with positive
entries, see ``__init__``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

LOSS_NETS = ("lstm", "fnn")


class LossNet(nn.Module):
    """``forward(logits (N, n_classes), labels (N,)) -> scalar`` learned loss."""

    def __init__(
        self, n_classes: int, kind: str = "lstm", residual: bool = True, hidden: int = 64, layers: int = 5
    ) -> None:
        super().__init__()
        if kind not in LOSS_NETS:
            raise ValueError(f"unknown loss network {kind!r}; valid: {list(LOSS_NETS)}")
        if n_classes < 1 or hidden < 1 or layers < 1:
            raise ValueError(f"n_classes, hidden and layers must be >= 1, got {n_classes}, {hidden}, {layers}")
        self.kind, self.residual, self.hidden, self.layers = kind, bool(residual), int(hidden), int(layers)
        self.embed = nn.Linear(n_classes + 1, hidden)
        if kind == "lstm":
            self.lstm = nn.LSTM(hidden, hidden, layers)
            self.fc1 = nn.Linear(hidden, 32)
            self.out = nn.Linear(32, 1)
        else:
            self.out = nn.Linear(hidden, 1)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.orthogonal_(m.weight)  # the paper: orthogonal initialisation for stability
        with torch.no_grad():
            # a one-row orthogonal matrix is any unit vector: take the one with positive entries,
            # so the learned loss grows with the residual cross-entropy at initialisation (the
            # paper's Figure 3: at first it is almost cross-entropy); a random sign made half
            # the initialisations ascend cross-entropy instead
            self.out.weight.abs_()

    def forward(self, logits: Tensor, labels: Tensor) -> Tensor:
        y = labels.to(logits.dtype).reshape(-1, 1)
        h = self.embed(torch.cat([logits, y], dim=1))
        if self.kind == "lstm":
            # one time step, the N examples as the batch; states start at the label (the paper)
            state = y.reshape(1, -1, 1).expand(self.layers, -1, self.hidden).contiguous()
            seq, _ = self.lstm(F.elu(h).unsqueeze(0), (state, state))
            h = self.fc1(seq.squeeze(0))
        if self.residual:
            h = h + F.cross_entropy(logits, labels)
        return self.out(F.elu(h)).mean()


__all__ = ["LOSS_NETS", "LossNet"]
