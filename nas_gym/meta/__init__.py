"""Meta-learning of architectures for few-shot tasks: MetaNAS (DARTS + Reptile) and LAMANAS
(the same with a learned task loss trained through a gradient proxy)."""

from .lamanas import METHODS, History, MetaConfig, MetaLearner, MetaTestResult
from .loss_net import LOSS_NETS, LossNet
from .proxy import PROXIES, InnerProductProxy, inner_product_proxy, mse_proxy

__all__ = [
    "LOSS_NETS",
    "METHODS",
    "PROXIES",
    "History",
    "InnerProductProxy",
    "LossNet",
    "MetaConfig",
    "MetaLearner",
    "MetaTestResult",
    "inner_product_proxy",
    "mse_proxy",
]
