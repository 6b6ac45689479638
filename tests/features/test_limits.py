"""User-set limits (LEADSCORE_LIMITS__...): input size, rows, text cells, run time-out; and models that
fail to load. Each message names the thing, the limit, the actual value and how to go on."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from features.contract import REJECT_COLUMNS, LoadedExport, load_export
from features.limits import LimitExceeded, check_file_size, check_rows, reject_long_cells
from pipelines.settings import Settings
from tests.conftest import SYNTHETIC_CONFIG


def test_limits_are_settings_read_from_the_environment(monkeypatch):
    assert Settings().limits.max_rows >= 10_000_000 and Settings().limits.run_timeout_seconds is None
    monkeypatch.setenv("LEADSCORE_LIMITS__MAX_ROWS", "5")
    monkeypatch.setenv("LEADSCORE_LIMITS__RUN_TIMEOUT_SECONDS", "90")
    limits = Settings().limits
    assert (limits.max_rows, limits.run_timeout_seconds) == (5, 90)


def test_a_file_over_the_size_limit_is_refused_with_its_size_and_the_setting(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_bytes(b"x" * 1_500)
    check_file_size(path, 1_500)  # at the limit: read
    with pytest.raises(LimitExceeded) as caught:
        check_file_size(path, 1_000)
    msg = str(caught.value)
    assert str(path) in msg and "1,500 bytes" in msg and "1,000 bytes" in msg
    assert "LEADSCORE_LIMITS__MAX_FILE_BYTES=1500" in msg


@pytest.fixture(scope="module")
def small_export(crm, config, tmp_path_factory) -> tuple[LoadedExport, Path, Path]:
    folder = tmp_path_factory.mktemp("limits")
    leads = crm.leads.head(200).copy()
    leads.loc[7, "Job Title"] = "Head of Sales " + "x" * 600  # a pasted note in a text column
    acts = crm.activities[crm.activities["Lead ID"].isin(leads["Lead ID"])]
    leads.to_csv(folder / "leads.csv", index=False)
    acts.to_csv(folder / "acts.csv", index=False)
    return load_export(folder / "leads.csv", folder / "acts.csv", config), folder / "leads.csv", folder / "acts.csv"


def test_a_table_over_the_row_limit_is_refused(small_export):
    export, leads, acts = small_export
    check_rows(export, max(export.rows_in.values()), {"leads": leads, "activities": acts})  # at the limit: fine
    with pytest.raises(LimitExceeded, match=r"200 leads rows, over the limit of 199 rows.*MAX_ROWS=200"):
        check_rows(export, 199, {"leads": leads, "activities": acts})


def test_a_long_text_cell_rejects_its_row_and_its_activities_with_the_reason(small_export, crm):
    export, *_ = small_export
    long_id = crm.leads["Lead ID"].iloc[7]
    out = reject_long_cells(export, 500)
    assert long_id not in set(out.leads["lead_id"]) and len(out.leads) == len(export.leads) - 1
    assert long_id not in set(out.activities["lead_id"])
    new = out.rejects.iloc[len(export.rejects) :]
    assert list(out.rejects.columns) == REJECT_COLUMNS
    lead_row = new[new["table"] == "leads"]
    assert lead_row["lead_id"].tolist() == [long_id]
    assert (
        lead_row["reason"].iloc[0] == "job_title: text of 614 characters, over LEADSCORE_LIMITS__MAX_CELL_CHARS (500)"
    )
    n_acts = int((export.activities["lead_id"] == long_id).sum())
    assert n_acts > 0 and (new["table"] == "activities").sum() == n_acts  # every row still accounted for
    assert len(out.activities) + n_acts == len(export.activities)
    assert "xxxx" not in " ".join(out.rejects["reason"])  # the reason never quotes the text
    assert reject_long_cells(export, 10_000) is export  # under the limit: nothing moves


def test_the_cli_refuses_an_oversized_export_in_one_line_before_any_run(tmp_path, export_files, monkeypatch):
    from pipelines.cli import app

    leads, acts = export_files
    monkeypatch.setenv("LEADSCORE_LIMITS__MAX_FILE_BYTES", "1000")
    result = CliRunner().invoke(
        app, ["weekly", "--leads", str(leads), "--activities", str(acts), "--workspace", str(tmp_path / "ws")]
    )
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.split())
    assert f"{leads}:" in flat and "over the input limit of 1,000 bytes" in flat
    assert "LEADSCORE_LIMITS__MAX_FILE_BYTES=" in flat and "Traceback" not in result.output
    assert not (tmp_path / "ws" / "lists").exists()


def test_a_run_over_its_time_out_stops_and_leaves_no_model(prefect_harness, export_files, tmp_path):
    from pipelines.cli.common import _timed, _timeout_message
    from pipelines.flows import train_flow

    ws = tmp_path / "ws"
    settings = Settings(workspace=ws, tracking_uri=f"sqlite:///{ws / 'mlflow.db'}", limits={"run_timeout_seconds": 0.5})
    leads, acts = export_files
    with pytest.raises(TimeoutError) as caught:
        _timed(train_flow, settings)(leads, acts, SYNTHETIC_CONFIG, settings)
    from mlflow.tracking import MlflowClient

    models = MlflowClient(settings.resolved_tracking_uri()).search_registered_models() if ws.exists() else []
    assert [m for m in models if m.latest_versions] == []
    assert "LEADSCORE_LIMITS__RUN_TIMEOUT_SECONDS" in _timeout_message(caught.value)


# ---------------------------------------------------------------------------------------------------
# a model that fails to load


@pytest.fixture(scope="module")
def registered_pyfunc(tmp_path_factory):
    """A real MLflow store holding two registered pyfunc models (not leadscore's), versions 1 and 2."""
    import mlflow
    import mlflow.pyfunc

    from models.tracking.client import Tracking, _tracking_uri

    class Constant(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return [0.5] * len(model_input)

    tmp_path = tmp_path_factory.mktemp("pyfunc")
    tracking = Tracking(f"sqlite:///{tmp_path / 'mlflow.db'}", "limits-test", "lead-scoring", tmp_path / "art")
    infos = []
    with _tracking_uri(tracking.tracking_uri), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "add type hints to predict": not the point here
        mlflow.set_experiment(experiment_id=tracking.experiment_id())
        for _ in range(2):
            with mlflow.start_run():
                infos.append(
                    mlflow.pyfunc.log_model(
                        name="model",
                        python_model=Constant(),
                        pip_requirements=["mlflow"],
                        registered_model_name="lead-scoring",
                    )
                )
    return tracking, tmp_path, infos


@pytest.mark.filterwarnings("ignore:.*type hints:UserWarning")
def test_a_damaged_model_file_names_the_uri_and_what_to_do(registered_pyfunc):
    from models.tracking import ModelLoadError, load_scorer

    tracking, folder, infos = registered_pyfunc
    pickles = [p for p in (folder / "art").rglob("python_model.pkl") if infos[1].model_id in str(p)]
    assert len(pickles) == 1
    pickles[0].write_bytes(b"\x80\x04 not a pickle any more")
    with pytest.raises(ModelLoadError) as caught:
        load_scorer(tracking, "models:/lead-scoring/2")
    msg = str(caught.value)
    assert "models:/lead-scoring/2" in msg and "damaged" in msg and "\n" not in msg
    assert "leadscore models" in msg and "leadscore rollback" in msg and "leadscore train" in msg


def test_a_model_that_is_not_leadscores_or_does_not_exist_gets_one_line(registered_pyfunc):
    from models.tracking import ModelLoadError, load_scorer

    tracking, *_ = registered_pyfunc
    with pytest.raises(ModelLoadError, match=r"'models:/lead-scoring/1' is not a leadscore model.*leadscore models"):
        load_scorer(tracking, "models:/lead-scoring/1")
    with pytest.raises(ModelLoadError, match=r"cannot load model 'models:/lead-scoring@champion'.*leadscore models"):
        load_scorer(tracking, "models:/lead-scoring@champion")


def test_the_rejects_frame_of_the_loader_is_unchanged_without_long_cells(small_export):
    export, *_ = small_export
    assert isinstance(export.rejects, pd.DataFrame) and list(export.rejects.columns) == REJECT_COLUMNS
