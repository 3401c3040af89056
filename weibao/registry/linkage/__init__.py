"""Record linkage engine (issue 4): plain Python over pandas/DuckDB, no Django models.

Public API::

    build_features(records) -> features            # records: unique_id + role columns (features.ROLES)
    train(lf, rf=None, *, u_pairs, em_pairs) -> Model
    predict(model, lf, rf=None, *, lower) -> scored pairs
    link(left, right=None, *, model=None, upper, lower, ...) -> LinkResult  # .pairs .model .timings,
                                                   # .clusters computed on first use
    Model.save(path) / Model.load(path)            # Splink JSON settings file, one per version
"""

from .engine import (
    LOWER_THRESHOLD,
    UPPER_THRESHOLD,
    LinkResult,
    clusters,
    decide,
    exact_pairs,
    link,
    predict,
    train,
)
from .features import FEATURES, ROLES, build_features
from .model import Model, connect

__all__ = [
    "FEATURES", "LOWER_THRESHOLD", "ROLES", "UPPER_THRESHOLD", "LinkResult", "Model", "build_features",
    "clusters", "connect", "decide", "exact_pairs", "link", "predict", "train",
]  # fmt: skip
