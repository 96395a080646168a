"""Training: the step (``step``), where batches come from (``sources``), the epoch loop
(``loop``), many models at once (``many``), inference over batches (``inference``) and
full-batch L-BFGS (``lbfgs``)."""

from __future__ import annotations

from .inference import INFERENCE_ROWS, evaluate, predict
from .loop import fit
from .many import fit_many
from .options import FitOptions, verbosity
from .sources import ArrayBatches, StreamBatches, is_batch_source
from .step import GradientReducer, TrainStep

__all__ = [
    "INFERENCE_ROWS",
    "ArrayBatches",
    "FitOptions",
    "GradientReducer",
    "StreamBatches",
    "TrainStep",
    "evaluate",
    "fit",
    "fit_many",
    "is_batch_source",
    "predict",
    "verbosity",
]
