"""Few-shot classification tasks from real images: class pools with disjoint meta-train /
meta-validation / meta-test classes, an N-way K-shot episode sampler, and the Omniglot reader."""

from .omniglot import load_omniglot, omniglot_split_sizes
from .tasks import (
    IMAGE_SET_SPLIT,
    SPLITS,
    ClassPool,
    FewShotSplits,
    Task,
    TaskSampler,
    image_set_splits,
    load_fewshot,
)

__all__ = [
    "IMAGE_SET_SPLIT",
    "SPLITS",
    "ClassPool",
    "FewShotSplits",
    "Task",
    "TaskSampler",
    "image_set_splits",
    "load_fewshot",
    "load_omniglot",
    "omniglot_split_sizes",
]
