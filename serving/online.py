"""Feature rows for online scoring: the request body a CRM integration POSTs to `mlflow models serve`.

The served model is the same pyfunc the batch scorer unwraps, and it takes the same feature rows, so a
score over REST equals the list's score for the same lead. Feature building stays here, on the client
side, with the dataset config the model was trained with.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from features.files import atomic_write


def invocation_payload(features: pd.DataFrame) -> dict:
    """The feature table as the JSON body of ``POST /invocations``: ``{"dataframe_split": ...}``.

    The lead ids travel in ``index``, which the model never reads; the server answers
    ``{"predictions": [...]}`` in row order. Missing values become ``null``. Numbers are written with
    every digit (Python's shortest repr that reads back to the same float), so nothing is lost on the way.
    """
    rows = [
        [None if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in row]
        for row in features.astype(object).itertuples(index=False, name=None)
    ]
    return {
        "dataframe_split": {
            "columns": [str(c) for c in features.columns],
            "index": [str(i) for i in features.index],
            "data": rows,
        }
    }


def write_invocation_json(features: pd.DataFrame, path: str | Path) -> Path:
    """Write :func:`invocation_payload` atomically; strict JSON (no NaN), UTF-8."""
    text = json.dumps(invocation_payload(features), ensure_ascii=False, allow_nan=False)
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
