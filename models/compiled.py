"""Optional compiled predictor: the LightGBM booster compiled to machine code with lleaves (LLVM).

Compiling takes seconds to minutes (about 11 s for 419 trees of 15 leaves), so it is done once, when a
trained model is logged, and the object code is saved beside ``booster.txt``. Loading the object is
instant. Scores are LightGBM's own to within floating-point summation order (fp64, raw margin; the
Platt calibration is applied by LeadScoreModel as for the booster).

The compiled object is machine code for one CPU: it is used only where lleaves is importable and the
platform (LLVM target triple, CPU name and features) and the booster file are the ones it was compiled
for; anywhere else the model falls back to the LightGBM booster and says why (``LeadScoreModel.predictor``).
Contributions (TreeSHAP) always come from the booster. Nothing here is pickled: a model sent to another
process (a Dask worker) carries the saved files its predictor was loaded from, and the receiving process
loads them again (``reload_compiled``), with the same platform checks.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from pathlib import Path

import numpy as np

OBJECT_FILE = "booster.lleaves.o"
FACTS_FILE = "booster.lleaves.json"
MODES = ("auto", "on", "off")
# ``auto`` compiles only for an export this large: below it the booster scores every lead in well under a second
# (0.10-0.13 M rows/s here), so compiling (seconds to minutes, per trained model) would not pay back
AUTO_MIN_LEADS = 100_000


class CompileError(RuntimeError):
    """``compile_predictor = on`` but the predictor could not be compiled."""


def _lleaves():
    import lleaves  # optional extra: imported only where used

    return lleaves


def available() -> str | None:
    """None when lleaves can be imported, else why not (one line)."""
    try:
        _lleaves()
    except Exception as exc:  # ImportError, or llvmlite failing to load its shared library
        return f"lleaves not importable ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
    return None


def platform_facts() -> dict[str, str]:
    """What the object code depends on: LLVM's target triple, the CPU and its features, the versions."""
    from importlib.metadata import version

    import llvmlite.binding as llvm

    llvm.initialize_native_target()
    try:
        features = llvm.get_host_cpu_features().flatten()
    except RuntimeError:
        features = ""
    return {
        "triple": llvm.get_process_triple(),
        "cpu": llvm.get_host_cpu_name(),
        "cpu_features": features,
        "lleaves": version("lleaves"),
        "llvmlite": version("llvmlite"),
    }


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def compile_booster(booster_file: str | Path) -> dict:
    """Compile ``booster_file`` (LightGBM text model) into an object file beside it; returns its facts."""
    booster_file = Path(booster_file)
    obj = booster_file.parent / OBJECT_FILE
    obj.unlink(missing_ok=True)  # lleaves loads an existing cache file without checking it
    t0 = time.perf_counter()
    model = _lleaves().Model(model_file=str(booster_file))
    model.compile(cache=str(obj), raw_score=True)
    facts = {
        **platform_facts(),
        "booster_sha256": _sha256(booster_file),
        "compile_s": round(time.perf_counter() - t0, 2),
    }
    (booster_file.parent / FACTS_FILE).write_text(json.dumps(facts, indent=1), encoding="utf-8")
    return facts


class CompiledPredictor:
    """Raw margins from the compiled object; the same contract as ``Booster.predict(M, raw_score=True)``.

    ``saved`` holds the files it was loaded from (file name -> bytes): what another process needs to load
    it again, since the machine code itself cannot be pickled.
    """

    def __init__(self, model, saved: dict[str, bytes] | None = None) -> None:
        self._model = model
        self.saved = saved or {}

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        if len(matrix) == 0:  # lleaves splits rows in batches of ceil(n / jobs): zero rows would not run
            return np.empty(0, dtype=np.float64)
        return self._model.predict(np.ascontiguousarray(matrix, dtype=np.float64))


def load_compiled(directory: str | Path, booster_file: str) -> tuple[CompiledPredictor | None, str]:
    """The compiled predictor saved in ``directory``, or None and why it cannot be used here."""
    directory = Path(directory)
    obj, facts_file = directory / OBJECT_FILE, directory / FACTS_FILE
    if not obj.is_file() or not facts_file.is_file():
        return None, "no compiled predictor saved with the model"
    missing = available()
    if missing:
        return None, missing
    try:
        facts = json.loads(facts_file.read_text(encoding="utf-8"))
        here = platform_facts()
        differs = [k for k in ("triple", "cpu", "cpu_features", "lleaves", "llvmlite") if facts.get(k) != here[k]]
        if differs:
            return None, f"compiled for another platform ({', '.join(differs)} differ)"
        if facts.get("booster_sha256") != _sha256(directory / booster_file):
            return None, "compiled object does not match booster.txt"
        model = _lleaves().Model(model_file=str(directory / booster_file))
        model.compile(cache=str(obj), raw_score=True)
        saved = {name: (directory / name).read_bytes() for name in (booster_file, OBJECT_FILE, FACTS_FILE)}
    except Exception as exc:  # a damaged or foreign object: the booster still scores
        return None, f"compiled predictor failed to load ({type(exc).__name__})"
    return CompiledPredictor(model, saved), "compiled"


def reload_compiled(saved: dict[str, bytes], booster_file: str) -> tuple[CompiledPredictor | None, str]:
    """The predictor whose files are ``saved`` (``CompiledPredictor.saved``), loaded in this process.

    The files go to a temporary folder only while loading: the object code is in memory afterwards.
    """
    with tempfile.TemporaryDirectory(prefix="leadscore-compiled-") as tmp:
        for name, content in saved.items():
            (Path(tmp) / name).write_bytes(content)
        return load_compiled(tmp, booster_file)


def compile_saved_model(
    directory: str | Path, mode: str = "auto", *, booster_file: str = "booster.txt", leads: int | None = None
) -> dict:
    """Compile the booster of a saved LeadScoreModel folder, and of each of its segments' models.

    ``mode``: ``off`` never compiles; ``auto`` compiles where lleaves is importable and the export holds at
    least ``AUTO_MIN_LEADS`` leads (``leads``; None: any size), and otherwise notes why not; ``on`` compiles
    whatever the size and raises CompileError when it cannot. Returns ``predictor`` (compiled or lightgbm),
    the total ``compile_s`` and a ``note``.
    """
    if mode not in MODES:
        raise ValueError(f"compile_predictor must be one of {MODES}, got {mode!r}")
    if mode == "off":
        return {"predictor": "lightgbm", "compile_s": 0.0, "note": "compile_predictor = off"}
    if mode == "auto" and leads is not None and leads < AUTO_MIN_LEADS:
        note = (
            f"not compiled: {leads:,} leads score in well under a second with LightGBM; auto compiles from "
            f"{AUTO_MIN_LEADS:,} (compile_predictor = on compiles anyway)"
        )
        return {"predictor": "lightgbm", "compile_s": 0.0, "note": note}
    missing = available()
    if missing:
        if mode == "on":
            raise CompileError(f"compile_predictor = on but {missing}; pip install 'leadscore[fast]'")
        return {"predictor": "lightgbm", "compile_s": 0.0, "note": missing}
    directory = Path(directory)
    spec = json.loads((directory / "scorer.json").read_text(encoding="utf-8"))
    folders = [directory, *(directory / sub for sub in spec.get("segments", {}).values())]
    t0 = time.perf_counter()
    try:
        for folder in folders:
            compile_booster(folder / booster_file)
    except Exception as exc:
        for folder in folders:  # all or nothing: no half-compiled model
            (folder / OBJECT_FILE).unlink(missing_ok=True)
            (folder / FACTS_FILE).unlink(missing_ok=True)
        if mode == "on":
            raise CompileError(f"compiling the predictor failed: {exc}") from exc
        return {"predictor": "lightgbm", "compile_s": 0.0, "note": f"compiling failed ({type(exc).__name__})"}
    seconds = round(time.perf_counter() - t0, 2)
    return {"predictor": "compiled", "compile_s": seconds, "note": f"{len(folders)} booster(s) compiled in {seconds} s"}
