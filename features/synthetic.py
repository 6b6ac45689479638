"""Synthetic B2B CRM history (Spain and Latin America) with a known true conversion probability.

The true probability of each lead is a function of what the CRM records before its MQL moment only
(firmographics, the seniority hidden in the job title, the email domain, the lead source and when it
came in, and the recency-weighted activity history), so ``truth.csv``'s ``p_true`` is the Bayes-optimal
score and its AUC the ceiling for any model. The export also carries what a real CRM logs after the MQL
(meetings only SQLs get, call attempts, a status column written after the outcome): tempting leaks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.seniority import EXAMPLE_TITLES, LEVELS

PRE_MQL_TYPES = [
    "email_open",
    "email_click",
    "page_view",
    "pricing_view",
    "download",
    "webinar",
    "form_fill",
    "demo_request",
    "unsubscribe",
]
# base propensity of each pre-MQL activity type, and how much intent tilts it
_TYPE_BASE = np.array([3.0, 1.2, 2.5, 0.5, 0.8, 0.35, 0.5, 0.12, 0.10])
_TYPE_TILT = np.array([0.2, 0.4, 0.3, 0.9, 0.4, 0.5, 0.5, 1.2, -0.9])

INDUSTRIES = {  # name: (share, logit effect)
    "Software": (0.18, 0.45),
    "Financial Services": (0.12, 0.30),
    "Manufacturing": (0.14, 0.05),
    "Retail": (0.12, -0.35),
    "Healthcare": (0.08, 0.15),
    "Logistics": (0.09, 0.0),
    "Education": (0.08, -0.55),
    "Professional Services": (0.12, 0.20),
    "Hospitality": (0.07, -0.40),
}
SIZES = {
    "1-10": (0.22, -0.55),
    "11-50": (0.27, -0.1),
    "51-200": (0.24, 0.2),
    "201-1000": (0.17, 0.4),
    "1000+": (0.10, 0.3),
}
COUNTRIES = {  # name: (share, effect, email tld, phone prefix)
    "Spain": (0.34, 0.10, "es", "+34"),
    "Mexico": (0.22, 0.0, "mx", "+52"),
    "Colombia": (0.12, -0.05, "co", "+57"),
    "Argentina": (0.10, -0.15, "ar", "+54"),
    "Chile": (0.09, 0.05, "cl", "+56"),
    "Peru": (0.07, -0.10, "pe", "+51"),
    "Uruguay": (0.03, 0.0, "uy", "+598"),
    "Ecuador": (0.03, -0.10, "ec", "+593"),
}
SOURCES = {  # name: (share, effect); paid_social's quality drifts down over the period
    "web_organic": (0.24, 0.15),
    "paid_search": (0.20, 0.0),
    "paid_social": (0.14, 0.20),
    "referral": (0.08, 0.55),
    "events": (0.10, 0.20),
    "webinar": (0.10, 0.10),
    "content_syndication": (0.09, -0.50),
    "outbound_list": (0.05, -0.35),
}
PAID_SOCIAL_DRIFT = -0.9  # change of paid_social's logit effect from the first to the last day of the history
# (share, logit effect) of each level in features.seniority.LEVELS' order (c_level, vp, director, manager,
# individual, student); each level's titles are that module's examples
_SENIORITY_MIX = [(0.08, 0.55), (0.06, 0.50), (0.16, 0.40), (0.24, 0.15), (0.30, -0.20), (0.06, -1.30)]
SENIORITY_TITLES = {  # level: (share, effect, titles); "unknown": titles that read as no level
    **{level: (*mix, EXAMPLE_TITLES[level]) for level, mix in zip(LEVELS, _SENIORITY_MIX, strict=True)},
    "unknown": (0.10, -0.25, ["", "-", "N/A", "Otro", "Varios"]),
}
MONTH_EFFECT = {8: -0.45, 12: -0.35}  # August and December: Spain and LatAm holidays
FIRST_NAMES = [
    "María",
    "José",
    "Lucía",
    "Carlos",
    "Ana",
    "Juan",
    "Sofía",
    "Diego",
    "Valentina",
    "Javier",
    "Camila",
    "Andrés",
    "Laura",
    "Pablo",
    "Isabel",
    "Mateo",
    "Carmen",
    "Santiago",
    "Paula",
    "Alejandro",
    "Elena",
    "Fernando",
    "Daniela",
    "Miguel",
    "Gabriela",
    "Ricardo",
    "Marta",
    "Jorge",
    "Natalia",
    "Luis",
]
LAST_NAMES = [
    "García",
    "Rodríguez",
    "González",
    "Fernández",
    "López",
    "Martínez",
    "Sánchez",
    "Pérez",
    "Gómez",
    "Martín",
    "Jiménez",
    "Ruiz",
    "Hernández",
    "Díaz",
    "Moreno",
    "Muñoz",
    "Álvarez",
    "Romero",
    "Torres",
    "Ramírez",
    "Flores",
    "Castro",
    "Vargas",
    "Rojas",
    "Morales",
    "Ortiz",
    "Silva",
    "Peña",
]
COMPANY_WORDS = [
    "Andina",
    "Ibérica",
    "Solaris",
    "Pacífico",
    "Atlas",
    "Cóndor",
    "Meridiano",
    "Nexo",
    "Aurora",
    "Horizonte",
    "Vértice",
    "Delta",
    "Austral",
    "Cumbre",
    "Faro",
    "Quantum",
    "Sierra",
    "Brisa",
    "Lumen",
    "Orbe",
    "Tierra",
    "Puerto",
    "Valle",
    "Río",
]
COMPANY_PREFIX = ["Grupo", "Tecnologías", "Servicios", "Industrias", "Soluciones", "Consultora", "Logística", ""]
COMPANY_SUFFIX = {
    "Spain": ["SL", "SA"],
    "Mexico": ["SA de CV"],
    "Colombia": ["SAS"],
    "Argentina": ["SRL", "SA"],
    "Chile": ["SpA", "Ltda"],
    "Peru": ["SAC"],
    "Uruguay": ["SA"],
    "Ecuador": ["Cía. Ltda."],
}
FREE_DOMAINS = ["gmail.com", "hotmail.com", "yahoo.es", "outlook.com", "hotmail.es", "live.com"]


@dataclass(frozen=True)
class SyntheticCRM:
    leads: pd.DataFrame
    activities: pd.DataFrame
    truth: pd.DataFrame
    export_at: pd.Timestamp
    horizon_days: int

    def open_ids(self) -> pd.Series:
        """Leads still inside their horizon at the export moment: no outcome in the export yet."""
        cutoff = _fmt(self.export_at - pd.Timedelta(days=self.horizon_days))
        return self.leads.loc[self.leads["MQL Date"] > cutoff, "Lead ID"]

    def bayes_auc_open(self) -> float:
        """AUC of the true probability on the open leads (the ceiling for any model)."""
        from sklearn.metrics import roc_auc_score

        t = self.truth[self.truth["lead_id"].isin(self.open_ids())]
        return float(roc_auc_score(t["converted"], t["p_true"]))


def _pick(rng: np.random.Generator, table: dict, n: int) -> tuple[np.ndarray, np.ndarray]:
    names = list(table)
    shares = np.array([v[0] for v in table.values()], dtype=float)
    idx = rng.choice(len(names), size=n, p=shares / shares.sum())
    effects = np.array([v[1] for v in table.values()])[idx]
    return np.array(names, dtype=object)[idx], effects


def _fmt(ts: pd.Series | pd.Timestamp) -> pd.Series | str:
    if isinstance(ts, pd.Timestamp):
        return ts.strftime("%Y-%m-%d %H:%M:%S")
    return ts.dt.strftime("%Y-%m-%d %H:%M:%S")


def generate(
    n_leads: int = 20_000,
    months: int = 12,
    seed: int = 7,
    *,
    export_at: str = "2026-11-02 06:00:00",
    horizon_days: int = 30,
) -> SyntheticCRM:
    """Generate a synthetic CRM export; deterministic for a given seed and arguments."""
    if n_leads < 10 or months < 2:
        raise ValueError("need at least 10 leads and 2 months of history")
    rng = np.random.default_rng(seed)
    end = pd.Timestamp(export_at)
    start = end - pd.DateOffset(months=months)
    span_s = (end - start).total_seconds()

    # MQL moments: volume grows over the period and dips in August and December
    u = rng.random(n_leads * 3)
    t_frac = u
    cand = start + pd.to_timedelta(t_frac * span_s, unit="s")
    keep_p = np.where(np.isin(cand.month, [8, 12]), 0.6, 1.0) * (0.7 + 0.3 * t_frac)
    cand = cand[rng.random(len(cand)) < keep_p][:n_leads]
    if len(cand) < n_leads:  # pragma: no cover - the oversampling above leaves ample room
        raise RuntimeError("could not draw enough MQL moments")
    mql_at = pd.Series(np.sort(cand.values)).dt.floor("s")
    n = n_leads
    tpos = ((mql_at - start).dt.total_seconds() / span_s).to_numpy()

    industry, e_ind = _pick(rng, INDUSTRIES, n)
    size, e_size = _pick(rng, SIZES, n)
    country, e_country = _pick(rng, COUNTRIES, n)
    source, e_source = _pick(rng, SOURCES, n)
    e_source = e_source + np.where(source == "paid_social", PAID_SOCIAL_DRIFT * tpos, 0.0)
    level, e_level = _pick(rng, SENIORITY_TITLES, n)
    titles = np.array(
        [SENIORITY_TITLES[lv][2][rng.integers(len(SENIORITY_TITLES[lv][2]))] for lv in level], dtype=object
    )
    free_email = rng.random(n) < np.where(level == "student", 0.85, np.where(size == "1-10", 0.45, 0.18))
    e_email = np.where(free_email, -0.45, 0.15)
    e_month = np.array([MONTH_EFFECT.get(m, 0.0) for m in mql_at.dt.month])
    senior = np.isin(level, ["c_level", "vp", "director"])
    big = np.isin(size, ["201-1000", "1000+"])
    e_inter = np.where(senior & big, 0.6, 0.0) - np.where(senior & (size == "1-10"), 0.6, 0.0)

    # pre-MQL activity history, driven by a latent intent that also prefers some firmographics
    intent = rng.normal(0, 1, n) + 0.3 * senior + 0.2 * big
    created_gap_days = rng.gamma(1.6, 14.0, n)
    created_at = (mql_at - pd.to_timedelta(created_gap_days * 86400, unit="s")).dt.floor("s")
    rates = _TYPE_BASE[None, :] * np.exp(_TYPE_TILT[None, :] * intent[:, None]) * (0.5 + created_gap_days[:, None] / 40)
    counts = rng.poisson(np.minimum(rates, 40))
    lead_idx = np.repeat(np.arange(n), counts.sum(axis=1))
    type_idx = np.concatenate([np.repeat(np.arange(len(PRE_MQL_TYPES)), c) for c in counts])
    # recent activity is likelier for high-intent leads: age = gap * Beta(1, b)
    b = np.clip(1.0 + 0.8 * intent[lead_idx], 0.3, None)
    age_days = created_gap_days[lead_idx] * rng.beta(1.0, b)
    # every MQL is triggered by a form fill at its MQL moment
    lead_idx = np.concatenate([lead_idx, np.arange(n)])
    type_idx = np.concatenate([type_idx, np.full(n, PRE_MQL_TYPES.index("form_fill"))])
    age_days = np.concatenate([age_days, np.zeros(n)])

    # engagement terms of the truth, from exactly what the CRM shows before the MQL
    def count_in(type_name: str, window: float) -> np.ndarray:
        m = (type_idx == PRE_MQL_TYPES.index(type_name)) & (age_days <= window)
        return np.bincount(lead_idx[m], minlength=n)

    weights = np.exp(-age_days * np.log(2) / 14.0)
    recency_weighted = np.bincount(lead_idx, weights=weights, minlength=n)
    e_eng = (
        0.45 * np.minimum(count_in("pricing_view", 7), 3)
        + 0.12 * np.minimum(count_in("pricing_view", 30), 6)
        + 0.9 * (count_in("demo_request", 30) > 0)
        + 0.35 * (count_in("webinar", 90) > 0)
        + 0.5 * np.log1p(recency_weighted)
        - 1.1 * (count_in("unsubscribe", 90) > 0)
        + 0.15 * np.minimum(count_in("email_click", 30), 4)
    )
    # funnel timing is not monotone: same-day MQLs are often impulse sign-ups, long-cold ones rarely buy
    e_gap = np.select([created_gap_days < 2, created_gap_days <= 35, created_gap_days > 60], [-0.45, 0.2, -0.35], 0.0)
    # engagement from a poor-fit lead (free email, student) means far less than from a buyer
    fit = np.where(free_email, 0.5, 1.0) * np.where(level == "student", 0.35, 1.0)
    logit = -3.2 + e_ind + e_size + e_country + e_source + e_level + e_email + e_month + e_inter + e_gap + fit * e_eng
    p_true = 1.0 / (1.0 + np.exp(-logit))
    converted = rng.random(n) < p_true

    sql_delay_days = np.minimum(rng.gamma(1.3, 5.0, n), horizon_days - 0.5)
    sql_at = mql_at + pd.to_timedelta(sql_delay_days * 86400, unit="s")
    is_open = mql_at > end - pd.Timedelta(days=horizon_days)
    sql_known = converted & ~is_open & (sql_at <= end)

    # post-MQL activity: meetings only SQLs get, call attempts and nurture emails for everyone
    post_lead, post_type, post_at = [], [], []
    for kind, who, mean in (
        ("meeting_held", converted, 1.6),
        ("call_attempt", np.ones(n, bool), 2.0),
        ("email_open", np.ones(n, bool), 1.5),
    ):
        k = rng.poisson(mean, n) * who
        li = np.repeat(np.arange(n), k)
        base = sql_at.to_numpy()[li] if kind == "meeting_held" else mql_at.to_numpy()[li]
        offs = pd.to_timedelta(rng.gamma(1.5, 6.0, len(li)) * 86400, unit="s").to_numpy()
        post_lead.append(li)
        post_type.append(np.full(len(li), kind, dtype=object))
        post_at.append(base + offs)
    post_lead = np.concatenate(post_lead)
    post_at = pd.Series(np.concatenate(post_at))
    seen = (post_at <= end).to_numpy()

    pre_at = mql_at.to_numpy()[lead_idx] - pd.to_timedelta(age_days * 86400, unit="s").to_numpy()
    act = pd.DataFrame(
        {
            "lead_idx": np.concatenate([lead_idx, post_lead[seen]]),
            "Activity Type": np.concatenate(
                [np.array(PRE_MQL_TYPES, dtype=object)[type_idx], np.concatenate(post_type)[seen]]
            ),
            "Timestamp": pd.Series(np.concatenate([pre_at, post_at.to_numpy()[seen]])).dt.floor("s"),
        }
    ).sort_values(["Timestamp", "lead_idx"], kind="stable")

    ids = np.array([f"L{seed:03d}-{i:07d}" for i in range(n)], dtype=object)
    first = rng.choice(FIRST_NAMES, n)
    last = rng.choice(LAST_NAMES, n)
    words = rng.choice(COMPANY_WORDS, n)
    prefix = rng.choice(COMPANY_PREFIX, n)
    suffix = np.array([COMPANY_SUFFIX[c][rng.integers(len(COMPANY_SUFFIX[c]))] for c in country], dtype=object)
    company = np.array([" ".join(x for x in (p, w, s) if x) for p, w, s in zip(prefix, words, suffix, strict=True)])
    slug = np.array([_ascii(w).lower() + _ascii(p).lower()[:4] for w, p in zip(words, prefix, strict=True)])
    tld = np.array([COUNTRIES[c][2] for c in country], dtype=object)
    local = np.array([f"{_ascii(f).lower()}.{_ascii(s).lower()}" for f, s in zip(first, last, strict=True)])
    free_dom = rng.choice(FREE_DOMAINS, n)
    digits = rng.integers(1, 99, n)
    email = np.where(
        free_email,
        [f"{lo}{d}@{fd}" for lo, d, fd in zip(local, digits, free_dom, strict=True)],
        [f"{lo}@{s}.{t}" for lo, s, t in zip(local, slug, tld, strict=True)],
    )
    phone = [
        f"{COUNTRIES[c][3]} {rng.integers(600, 999)} {rng.integers(100, 999)} {rng.integers(100, 999)}" for c in country
    ]
    size_out = np.where(rng.random(n) < 0.12, "", size)  # company size is often missing in CRMs
    campaign = np.array(
        [
            f"{s}-{m:%Y-%m}" if s.startswith(("paid", "content")) else f"{s}-always-on"
            for s, m in zip(source, mql_at, strict=True)
        ],
        dtype=object,
    )
    status = np.where(is_open, "Working", np.where(converted, "Qualified", "Disqualified"))

    leads = pd.DataFrame(
        {
            "Lead ID": ids,
            "Created Date": _fmt(created_at),
            "MQL Date": _fmt(mql_at),
            "SQL Date": np.where(sql_known, _fmt(sql_at.dt.floor("s")), ""),
            "First Name": first,
            "Last Name": last,
            "Email": email,
            "Phone": phone,
            "Company": company,
            "Job Title": titles,
            "Industry": industry,
            "Company Size": size_out,
            "Country": country,
            "Lead Source": source,
            "Campaign": campaign,
            "Lead Status": status,
        }
    )
    activities = pd.DataFrame(
        {
            "Lead ID": ids[act["lead_idx"].to_numpy()],
            "Activity Type": act["Activity Type"].to_numpy(),
            "Timestamp": _fmt(act["Timestamp"]).to_numpy(),
        }
    )
    truth = pd.DataFrame({"lead_id": ids, "p_true": p_true.round(6), "converted": converted.astype(int)})
    return SyntheticCRM(leads, activities, truth, end, horizon_days)


def _ascii(s: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
