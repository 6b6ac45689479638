"""The MLflow pyfunc wrapper around LeadScoreModel, logged as "models from code" (nothing pickled).

MLflow runs this file when it loads the model; the booster and its spec are plain-file artifacts.
"""

from __future__ import annotations

import mlflow.models
import mlflow.pyfunc
import numpy as np
import pandas as pd

from models.scorer import LeadScoreModel


class LeadScorePyfunc(mlflow.pyfunc.PythonModel):
    """``predict`` takes feature rows and returns calibrated SQL probabilities."""

    def load_context(self, context) -> None:
        self.model = LeadScoreModel.load(context.artifacts["scorer"])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> np.ndarray:
        return self.model.predict_proba(model_input)


mlflow.models.set_model(LeadScorePyfunc())
