"""The synthetic CRM history written in the shapes real exports come in (``leadscore generate --style``).

Every style writes the same leads, outcomes and activities as the ``leadscore`` style (so ``truth.csv``'s
``p_true`` stays the Bayes-optimal score), only named, encoded and formatted the way another CRM or a
spreadsheet would: the proof that ``init-config`` reads real exports. A style is a pure function from a
``SyntheticCRM`` to the files to write (no I/O here); add one by adding it to ``STYLES``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.style_relational import relational_tables
from features.synthetic import SyntheticCRM


@dataclass(frozen=True)
class ExportFile:
    """One file of a styled export: its rows and how to write them as CSV."""

    frame: pd.DataFrame
    sep: str = ","
    encoding: str = "utf-8"


Style = Callable[[SyntheticCRM], dict[str, ExportFile]]  # file stem ("leads") -> file


def leadscore_style(crm: SyntheticCRM) -> dict[str, ExportFile]:
    """The project's own export, exactly as `generate` always wrote it."""
    return {"leads": ExportFile(crm.leads), "activities": ExportFile(crm.activities), "truth": ExportFile(crm.truth)}


def _revenue(crm: SyntheticCRM, seed: int = 1) -> np.ndarray:
    """Annual revenue (EUR) from the company size with noise; its own RNG so the history is unchanged.

    Known for about 70% of leads; size bands left blank in the export still hide the true size here.
    """
    rng = np.random.default_rng(seed)
    base = {"1-10": 0.8e6, "11-50": 4e6, "51-200": 20e6, "201-1000": 90e6, "1000+": 900e6}
    size = crm.leads["Company Size"].to_numpy()
    mid = np.array([base.get(s, 10e6) for s in size])
    revenue = np.round(mid * rng.lognormal(0.0, 0.6, len(size)), -3)
    return np.where((rng.random(len(size)) < 0.3) | (size == ""), np.nan, revenue)


def _iso_z(text: pd.Series) -> pd.Series:
    """'2026-01-02 10:11:12' as HubSpot writes it: '2026-01-02T10:11:12Z' (blank stays blank)."""
    return text.where(text == "", text.str.replace(" ", "T", regex=False) + "Z")


HUBSPOT_TYPES = {
    "email_open": "Email: Opened",
    "email_click": "Email: Clicked",
    "page_view": "Page View: Website",
    "pricing_view": "Page View: Pricing",
    "download": "Form Submission: Content Download",
    "webinar": "Marketing Event: Webinar Attended",
    "form_fill": "Form Submission: Contact Us",
    "demo_request": "Form Submission: Demo Request",
    "unsubscribe": "Email: Unsubscribed",
    "meeting_held": "Meeting: Held",
    "call_attempt": "Call: Attempted",
}
HUBSPOT_SOURCES = {
    "web_organic": "Organic Search",
    "paid_search": "Paid Search",
    "paid_social": "Paid Social",
    "referral": "Referrals",
    "events": "Offline Sources",
    "webinar": "Webinar",
    "content_syndication": "Content Syndication",
    "outbound_list": "Sales Outreach",
}
HUBSPOT_STAGE = {"Working": "Marketing Qualified Lead", "Qualified": "Opportunity", "Disqualified": "Other"}


def hubspot_style(crm: SyntheticCRM) -> dict[str, ExportFile]:
    """A HubSpot-like contacts export: English names with spaces and ':', ISO dates with 'Z'."""
    src = crm.leads
    leads = pd.DataFrame(
        {
            "Record ID": src["Lead ID"],
            "First Name": src["First Name"],
            "Last Name": src["Last Name"],
            "Email": src["Email"],
            "Phone Number": src["Phone"],
            "Company Name": src["Company"],
            "Job Title": src["Job Title"],
            "Industry": src["Industry"],
            "Company size": src["Company Size"],
            "Annual Revenue": _revenue(crm),
            "Country/Region": src["Country"],
            "Original Source": src["Lead Source"].map(HUBSPOT_SOURCES),
            "Original Source Drill-Down: Campaign": src["Campaign"],
            "Create Date": _iso_z(src["Created Date"]),
            "Became a Marketing Qualified Lead Date": _iso_z(src["MQL Date"]),
            "Became a Sales Qualified Lead Date": _iso_z(src["SQL Date"]),
            "Lifecycle Stage": src["Lead Status"].map(HUBSPOT_STAGE),  # written after the outcome: a leak
        }
    )
    acts = pd.DataFrame(
        {
            "Record ID": crm.activities["Lead ID"],
            "Activity Date": _iso_z(crm.activities["Timestamp"]),
            "Activity Type": crm.activities["Activity Type"].map(HUBSPOT_TYPES),
        }
    )
    return {"leads": ExportFile(leads), "activities": ExportFile(acts), "truth": ExportFile(crm.truth)}


ES_TYPES = {
    "email_open": "Correo abierto",
    "email_click": "Clic en correo",
    "page_view": "Visita a la web",
    "pricing_view": "Visita a la página de precios",
    "download": "Descarga de contenido",
    "webinar": "Asistencia a webinar",
    "form_fill": "Formulario enviado",
    "demo_request": "Solicitud de demo",
    "unsubscribe": "Baja de la lista",
    "meeting_held": "Reunión celebrada",
    "call_attempt": "Llamada realizada",
}
ES_INDUSTRIES = {
    "Software": "Software",
    "Financial Services": "Servicios financieros",
    "Manufacturing": "Industria",
    "Retail": "Comercio minorista",
    "Healthcare": "Sanidad",
    "Logistics": "Logística",
    "Education": "Educación",
    "Professional Services": "Servicios profesionales",
    "Hospitality": "Hostelería",
}
ES_SIZES = {"1-10": "1-10", "11-50": "11-50", "51-200": "51-200", "201-1000": "201-1.000", "1000+": "Más de 1.000"}
ES_COUNTRIES = {"Spain": "España", "Mexico": "México", "Peru": "Perú"}
ES_SOURCES = {
    "web_organic": "Web orgánico",
    "paid_search": "Búsqueda de pago",
    "paid_social": "Redes sociales de pago",
    "referral": "Recomendación",
    "events": "Eventos",
    "webinar": "Webinar",
    "content_syndication": "Sindicación de contenidos",
    "outbound_list": "Lista de prospección",
}
ES_STATUS = {"Working": "En curso", "Qualified": "Cualificado", "Disqualified": "Descartado"}


def _es_datetime(text: pd.Series, *, with_time: bool = True) -> pd.Series:
    """'2026-01-02 10:11:12' as Spanish Excel writes it: '02/01/2026 10:11' (or '02/01/2026')."""
    ts = pd.to_datetime(text.where(text != ""), format="%Y-%m-%d %H:%M:%S")
    out = ts.dt.strftime("%d/%m/%Y %H:%M" if with_time else "%d/%m/%Y")
    return out.fillna("")


def es_number(value: float) -> str:
    """126.04 -> '126,0'; 1234.5 -> '1.234,5' (Spanish: decimal comma, thousands dot); NaN -> ''."""
    if pd.isna(value):
        return ""
    return f"{value:,.1f}".replace(",", "_").replace(".", ",").replace("_", ".")


def excel_es_style(crm: SyntheticCRM) -> dict[str, ExportFile]:
    """The export as a Spanish Excel user saves it: ';', Windows-1252, day-first dates, decimal comma."""
    src = crm.leads
    leads = pd.DataFrame(
        {
            "ID Prospecto": src["Lead ID"],
            "Fecha de creación": _es_datetime(src["Created Date"], with_time=False),
            "Fecha MQL": _es_datetime(src["MQL Date"]),
            "Fecha SQL": _es_datetime(src["SQL Date"]),
            "Nombre": src["First Name"],
            "Apellidos": src["Last Name"],
            "Correo electrónico": src["Email"],
            "Teléfono": src["Phone"],
            "Empresa": src["Company"],
            "Cargo": src["Job Title"],
            "Sector": src["Industry"].map(ES_INDUSTRIES),
            "Tamaño de empresa": src["Company Size"].map(lambda s: ES_SIZES.get(s, s)),
            "Facturación (M€)": [es_number(v) for v in _revenue(crm) / 1e6],
            "País": src["Country"].map(lambda c: ES_COUNTRIES.get(c, c)),
            "Origen": src["Lead Source"].map(ES_SOURCES),
            "Campaña": src["Campaign"],
            "Estado": src["Lead Status"].map(ES_STATUS),  # written after the outcome: a leak
        }
    )
    acts = pd.DataFrame(
        {
            "ID Prospecto": crm.activities["Lead ID"],
            "Fecha": _es_datetime(crm.activities["Timestamp"]),
            "Actividad": crm.activities["Activity Type"].map(ES_TYPES),
        }
    )
    return {
        "leads": ExportFile(leads, sep=";", encoding="cp1252"),
        "activities": ExportFile(acts, sep=";", encoding="cp1252"),
        "truth": ExportFile(crm.truth),
    }


def relational_style(crm: SyntheticCRM) -> dict[str, ExportFile]:
    """Leads, contacts, accounts and three event tables keyed by lead or contact (features/style_relational.py)."""
    return {stem: ExportFile(frame) for stem, frame in relational_tables(crm).items()}


STYLES: dict[str, Style] = {
    "leadscore": leadscore_style,
    "hubspot": hubspot_style,
    "excel-es": excel_es_style,
    "relational": relational_style,
}
