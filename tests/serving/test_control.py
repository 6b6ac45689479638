"""The control group: a stable per-lead assignment, its persona-ranked section with the score withheld, the
capacity split, and the assignment file against the list it describes. Hand-built frames, no model."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.baselines import persona_score
from serving.control import in_control, split_capacity, split_list, uniform
from serving.publish import publish
from serving.summary import tiers_of
from serving.week_list import shape_list, shape_week_list

CUTOFFS = {"A": 70.0, "B": 50.0, "C": 30.0}
SHAPE = {"trend_points": 5.0, "minutes_per_lead": 15.0, "cost_per_hour": 30.0}


def week(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A scored list as ``score_leads`` writes it (best score first), its leads and their features."""
    rng = np.random.default_rng(seed)
    ids = [f"L{seed}-{i:05d}" for i in range(n)]
    features = pd.DataFrame(
        {
            "seniority": rng.choice(["vp", "manager", "individual"], n),
            "company_size": rng.choice(["1-10", "51-200", "1000+"], n),
            "email_type": rng.choice(["corporate", "free"], n),
            "activities_30d": rng.integers(0, 5, n).astype(float),
        },
        index=pd.Index(ids, name="lead_id", dtype="str"),
    )
    leads = pd.DataFrame(
        {"lead_id": ids, "email": [f"{i}@x.es" for i in ids], "mql_at": pd.Timestamp("2026-11-02")}
    ).astype({"lead_id": "str"})
    score = np.round(rng.uniform(0, 100, n), 1)
    order = np.argsort(-score, kind="stable")
    scored = pd.DataFrame({"rank": np.arange(1, n + 1), "lead_id": pd.Series(np.array(ids)[order], dtype="str")})
    scored["email"] = leads["email"].to_numpy()[order]
    scored["mql_at"] = "2026-11-02 00:00"
    scored["score"] = score[order]
    scored["tier"] = np.select(
        [scored["score"] >= 70, scored["score"] >= 50, scored["score"] >= 30], ["A", "B", "C"], "D"
    )
    for c in ("reason_1", "reason_2", "reason_3"):
        scored[c] = pd.Series([f"▲ {c} of {i}" for i in scored["lead_id"]], dtype="str")
    scored["model_version"] = "3"
    scored["scored_at"] = "2026-11-02T06:00:00Z"
    return scored, leads, features


def shaped(scored, leads, features, config, *, share: float, capacity: int | None = None, salt: str = "s"):
    return shape_week_list(
        scored, features, config.persona, capacity=capacity, control_share=share, control_salt=salt,
        previous=None, leads=leads, activities=pd.DataFrame(), cutoffs=CUTOFFS, **SHAPE,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------------
# the assignment


def test_a_lead_keeps_its_number_whatever_else_is_in_the_batch():
    ids = [f"lead-{i}" for i in range(500)] + ["é-ñ", "", "12345678", "123456789", "x" * 70]
    alone = np.array([uniform([i], "s")[0] for i in ids[::50]])
    np.testing.assert_array_equal(uniform(ids, "s")[::50], alone)
    np.testing.assert_array_equal(uniform(ids[::-1], "s")[::-1], uniform(ids, "s"))  # order does not matter
    assert not np.array_equal(uniform(ids, "s"), uniform(ids, "t"))  # the salt reseeds it
    # fixed values: a change of the hash would move live leads between groups, and must be seen
    np.testing.assert_allclose(uniform(["L003-0000050", "a"], "leadscore-control"), [0.0066305, 0.5989053], atol=1e-7)


def test_the_same_lead_is_in_the_same_group_in_every_week():
    weeks = [[f"L{i:05d}" for i in range(k, k + 3000)] for k in (0, 1000, 2500)]  # overlapping batches
    group = {}
    for ids in weeks:
        for lead, control in zip(ids, in_control(pd.Series(ids, dtype="str"), 0.2, "s"), strict=True):
            assert group.setdefault(lead, control) == control


@pytest.mark.parametrize("share", [0.05, 0.2, 0.5])
@pytest.mark.parametrize("style", ["L{:06d}", "{:x}@example.com", "00Q{:012d}"])
def test_the_control_share_is_the_setting_within_binomial_noise(share, style):
    n = 20_000
    got = in_control([style.format(i * 7919) for i in range(n)], share, "leadscore-control").mean()
    assert abs(got - share) <= 4 * math.sqrt(share * (1 - share) / n)


def one_id_at_a_time(lead_id: str, salt: str) -> float:
    """``uniform``'s hash as its docstring states it, one id in plain Python: the vectorised one must equal it."""
    ones = 2**64 - 1

    def fmix(h: int) -> int:
        h ^= h >> 33
        h = (h * 0xFF51AFD7ED558CCD) & ones
        h ^= h >> 33
        h = (h * 0xC4CEB9FE1A85EC53) & ones
        return h ^ (h >> 33)

    raw = lead_id.encode("utf-8")
    h = int.from_bytes(hashlib.blake2b(salt.encode("utf-8"), digest_size=8).digest(), "little")
    for j in range(0, len(raw), 8):  # 8-byte little-endian words, the last one short
        h = fmix(h ^ int.from_bytes(raw[j : j + 8], "little"))
    return (fmix(h ^ len(raw)) >> 11) / 2**53


def test_the_vectorised_hash_is_the_stated_hash_for_every_id_length_and_layout():
    # ids of 0 to 40 bytes (multi-byte letters too), in a sliced Arrow-backed column (its buffers start
    # before the first id): the word masks, the longest-id rounds and the buffer offset are all exercised
    rng = np.random.default_rng(1)
    letters = np.array(list("abcXYZ0189-_@.éñ€"))
    ids = ["".join(rng.choice(letters, rng.integers(0, 41))) for _ in range(3000)]
    column = pd.Series(pd.array(["padding"] * 7 + ids, dtype="string[pyarrow]"))[7:]
    got = uniform(column, "leadscore-control")
    np.testing.assert_array_equal(got, [one_id_at_a_time(i, "leadscore-control") for i in ids])
    assert ((got >= 0) & (got < 1)).all()


# ---------------------------------------------------------------------------------------------------
# the list's sections


def test_control_rows_are_persona_ranked_below_the_model_group_with_their_score_withheld(config):
    scored, leads, features = week(400)
    listed, facts, _ = shaped(scored, leads, features, config, share=0.3)
    control = listed[listed["group"] == "control"]
    model = listed[listed["group"] == "model"]
    assert len(control) == facts["control"]["leads"] > 0 and (listed["group"].iloc[: len(model)] == "model").all()
    assert listed["rank"].tolist() == list(range(1, len(listed) + 1))
    # the model group: the scored list without the control leads, in its order
    kept = scored[scored["lead_id"].isin(model["lead_id"])]
    assert model["lead_id"].tolist() == kept["lead_id"].tolist() and model["score"].is_monotonic_decreasing
    assert (model["reason_1"] == kept["reason_1"].to_numpy()).all()
    # the control group: nothing of the model, ranked by the persona share, ties in the export's order
    assert control["score"].isna().all() and (control["tier"] == "").all()
    assert (control[["reason_1", "reason_2", "reason_3"]] == "").all().all()
    share = persona_score(features.loc[control["lead_id"]], config.persona)
    export_order = features.index.get_indexer(control["lead_id"])
    assert list(zip(-share, export_order, strict=True)) == sorted(zip(-share, export_order, strict=True))
    assert tiers_of(listed) == tiers_of(model) and sum(tiers_of(listed).values()) == len(model)


def test_the_capacity_is_split_in_proportion_and_the_control_share_goes_to_its_persona_top(config):
    assert split_capacity(100, 800, 200) == (80, 20) and split_capacity(None, 8, 2) == (None, None)
    assert split_capacity(1, 1, 3) == (1, 0)  # the model group keeps at least one lead to work
    scored, leads, features = week(500)
    listed, facts, assignment = shaped(scored, leads, features, config, share=0.2, capacity=50)
    c = facts["control"]
    n_control = c["leads"]
    assert c["capacity_control"] == round(50 * n_control / 500) and c["capacity_model"] == 50 - c["capacity_control"]
    control = listed[listed["group"] == "control"]
    assert control["this_week"].tolist() == ["yes"] * c["capacity_control"] + ["no"] * (
        n_control - c["capacity_control"]
    )
    model = listed[listed["group"] == "model"]
    assert (model["this_week"] == "yes").sum() == c["capacity_model"] == facts["capacity"]["leads"]
    assert model["this_week"].iloc[: c["capacity_model"]].eq("yes").all()


def test_control_rows_carry_no_trend_that_would_give_their_score_away(config):
    scored, leads, features = week(200)
    previous = scored.assign(score=scored["score"] - 10)  # every lead improved by 10 points
    listed, *_ = shape_week_list(
        scored, features, config.persona, capacity=None, control_share=0.3, control_salt="s",
        previous=previous, leads=leads, activities=pd.DataFrame(), cutoffs=CUTOFFS, **SHAPE,
    )  # fmt: skip
    control, model = listed[listed["group"] == "control"], listed[listed["group"] == "model"]
    assert (model["trend"] == "Improving").all() and model["previous_score"].notna().all()
    assert (
        control["previous_score"].isna().all()
        and (control[["previous_tier", "trend", "tier_change_reason"]] == "").all().all()
    )


def test_the_assignment_describes_the_list_row_by_row(config):
    scored, leads, features = week(300)
    listed, facts, a = shaped(scored, leads, features, config, share=0.25, capacity=40)
    assert a["lead_id"].tolist() == listed["lead_id"].tolist() and a["group"].tolist() == listed["group"].tolist()
    assert a["worked"].tolist() == (listed["this_week"] == "yes").tolist()
    withheld = scored.set_index("lead_id")["score"] / 100
    np.testing.assert_allclose(a["p_model"], withheld.loc[a["lead_id"]].to_numpy())  # control leads' too
    model = (a["group"] == "model").to_numpy()
    assert a["persona_rank"][model].isna().all()
    assert a["persona_rank"][~model].tolist() == (listed["rank"][~model] - model.sum()).tolist()
    # the cost: the control group's best-scored leads of the same count against the persona-ranked ones worked
    p, k = a["p_model"][~model].to_numpy(), facts["control"]["worked"]
    given_up = np.sort(p)[::-1][:k].sum() - p[:k].sum()
    assert facts["control"]["expected_sqls_given_up"] == pytest.approx(given_up, abs=0.006) and given_up >= 0


def test_without_a_capacity_the_control_group_works_the_model_groups_share_of_its_leads(config):
    scored, leads, features = week(600)
    listed, facts, a = shaped(scored, leads, features, config, share=0.3)
    model = a["group"] == "model"
    assert a.loc[model, "worked"].tolist() == listed.loc[model, "tier"].isin(["A", "B", "C"]).tolist()
    n_control = (~model).sum()
    assert a.loc[~model, "worked"].sum() == round(n_control * a.loc[model, "worked"].mean())
    assert a.loc[~model, "worked"].tolist() == sorted(a.loc[~model, "worked"], reverse=True)  # the persona top


def test_share_zero_writes_todays_list_byte_for_byte_and_an_all_model_assignment(config, tmp_path):
    scored, leads, features = week(300)
    today, today_facts = shape_list(scored, None, leads, pd.DataFrame(), CUTOFFS, capacity=60, **SHAPE)
    listed, facts, a = shaped(scored, leads, features, config, share=0.0, capacity=60)
    assert facts == {**today_facts, "control": {"share": 0.0, "leads": 0, "salt": "s"}}
    publish(tmp_path / "today", "latest", today, pd.DataFrame({"row": []}), {"as_of": "x"})
    files = publish(tmp_path / "new", "latest", listed, pd.DataFrame({"row": []}), {"as_of": "x"}, assignment=a)
    for name in ("latest.csv", "latest.parquet"):
        assert (tmp_path / "new" / name).read_bytes() == (tmp_path / "today" / name).read_bytes()
    written = pd.read_parquet(files["assignment"])
    assert files["assignment"] == f"{files['archive']}/list_assignment.parquet"
    assert list(written.columns) == ["lead_id", "group", "p_model", "worked", "persona_rank"]
    assert (written["group"] == "model").all() and written["lead_id"].tolist() == today["lead_id"].tolist()
    assert written["worked"].tolist() == (today["this_week"] == "yes").tolist()


def test_the_assignment_stays_in_the_archive_and_never_beside_the_list_sdrs_open(config, tmp_path):
    # it holds the control leads' withheld scores: anyone opening lists/ would read them there
    import json

    scored, leads, features = week(50)
    listed, _, a = shaped(scored, leads, features, config, share=0.2)
    (tmp_path / "latest_assignment.parquet").write_text("an earlier version's assignment, beside the list")
    files = publish(tmp_path, "latest", listed, pd.DataFrame({"row": []}), {}, assignment=a)
    assert not list(tmp_path.glob("*assignment*"))  # the stale one removed, the new one not copied out
    archived = f"{files['archive']}/list_assignment.parquet"
    pd.testing.assert_frame_equal(pd.read_parquet(archived), a)
    for summary in (tmp_path / "latest_summary.json", Path(files["archive"]) / "list_summary.json"):
        assert json.loads(summary.read_text(encoding="utf-8"))["files"]["assignment"] == archived
    persona = publish(tmp_path, "latest", listed, pd.DataFrame({"row": []}), {})  # a persona week: no model scored it
    assert "assignment" not in persona and not list(Path(persona["archive"]).glob("*assignment*"))


def test_split_list_at_share_zero_is_the_scored_list_itself(config):
    scored, _, features = week(20)
    assert split_list(scored, features, config.persona, share=0, salt="s").model is scored


@pytest.mark.parametrize("share", [-0.1, 0.51, float("nan")])
def test_a_control_share_outside_0_to_half_is_a_one_line_error(share):
    from pydantic import ValidationError

    from pipelines.settings import Settings

    with pytest.raises(ValidationError, match=r"control_share\n.*must be a share from 0 \(off\) to 0.5"):
        Settings(control_share=share)


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", ["Control group: 20.0% of the open leads", "Expected SQLs given up to the control group this week"]),
        ("es", ["Grupo de control: 20,0\u00a0% de los leads abiertos", "SQLs esperados que se ceden"]),
    ],
)
def test_the_review_page_and_the_console_say_the_control_group_is_on_and_what_it_costs(config, lang, words):
    from serving.control import control_line
    from serving.review.sections import week_section
    from serving.week_list import page_facts

    scored, leads, features = week(400)
    _, facts, _ = shaped(scored, leads, features, config, share=0.2, capacity=50)
    c = facts["control"]
    html = week_section(page_facts(facts), lang, "€")
    assert all(w in html for w in words)
    given_up = f"{c['expected_sqls_given_up']:.1f}"
    assert (given_up if lang == "en" else given_up.replace(".", ",")) in html
    assert f"Expected SQLs given up: {given_up}" in control_line(c)
    _, off, _ = shaped(scored, leads, features, config, share=0.0, capacity=50)
    assert page_facts(off) == off["kpis"] and words[0][:10] not in week_section(page_facts(off), lang, "€")


def test_an_empty_list_has_an_empty_assignment(config):
    scored, leads, features = week(0)
    listed, facts, a = shaped(scored, leads, features, config, share=0.2, capacity=10)
    assert len(listed) == len(a) == 0 and facts["control"]["leads"] == 0 and "group" in listed


def only_control_leads(n: int, share: float) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A week whose open leads all hash to the control group (a small batch does, one time in 1/share**n)."""
    scored, leads, features = week(60)
    mine = in_control(scored["lead_id"], share, "s")
    scored = scored[mine].head(n).reset_index(drop=True)
    scored["rank"] = np.arange(1, n + 1)
    ids = scored["lead_id"]
    return scored, leads[leads["lead_id"].isin(ids)], features[features.index.isin(ids)]


def test_a_week_whose_open_leads_are_all_control_gives_the_control_group_the_whole_capacity(config):
    scored, leads, features = only_control_leads(2, 0.5)
    listed, facts, a = shaped(scored, leads, features, config, share=0.5, capacity=5)
    assert listed["group"].tolist() == ["control", "control"] and listed["this_week"].tolist() == ["yes", "yes"]
    assert a["worked"].tolist() == [True, True] and (a["group"] == "control").all()
    c = facts["control"]
    assert (c["model_leads"], c["capacity_model"], c["capacity_control"], c["worked"]) == (0, 0, 5, 2)
    assert facts["capacity"] == {
        "capacity": 0, "leads": 0, "expected_sqls": 0.0, "leads_remainder": 0, "expected_sqls_remainder": 0.0
    }  # fmt: skip


def test_a_week_whose_open_leads_are_all_control_without_a_capacity_works_none_of_them(config):
    # the control group works the model group's share of its leads: with no model lead there is no share
    scored, leads, features = only_control_leads(3, 0.5)
    listed, facts, a = shaped(scored, leads, features, config, share=0.5)
    assert listed["group"].tolist() == ["control"] * 3 and "this_week" not in listed
    assert a["worked"].tolist() == [False] * 3 and facts["control"]["worked"] == 0


def test_the_working_list_line_says_the_capacity_was_split_with_the_control_group(config):
    from serving.control import working_list_line

    scored, leads, features = week(500)
    _, facts, _ = shaped(scored, leads, features, config, share=0.2, capacity=100)
    c, m = facts["control"], facts["capacity"]
    line = working_list_line(m, c)
    assert m["capacity"] == c["capacity_model"] < 100  # the summary's capacity is the model group's share
    assert f"the best {m['leads']} of the model group's leads (this_week=yes; the capacity of 100 split: " in line
    assert f"split: {c['capacity_model']} model, {c['capacity_control']} control)" in line and "\n" not in line
    _, off, _ = shaped(scored, leads, features, config, share=0.0, capacity=100)
    k = off["capacity"]
    assert working_list_line(k, off["control"]) == (  # without a control group, the sentence as before
        f"This week's working list: the best 100 leads (this_week=yes), {k['expected_sqls']:.1f} SQLs expected in "
        f"it; {k['expected_sqls_remainder']:.1f} expected in the other {k['leads_remainder']:,}."
    )
