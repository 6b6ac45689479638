"""Seniority levels and how a free-text job title (Spanish or English) reads as one.

The single source of the level names: the features, the synthetic export's titles and the words people
read for each level all key on ``LEVELS``.
"""

from __future__ import annotations

import pandas as pd

LEVELS = ("c_level", "vp", "director", "manager", "individual", "student")  # most senior first

# Ordered: the first rule that matches a title wins ("Vice President" before "President", "Director
# General" before "Director"). Titles are lower-cased and stripped of accents first.
SENIORITY_RULES: list[tuple[str, str]] = [
    # "Asistente del CEO" works for the CEO: assistants are matched before the titles they name
    ("individual", r"\b(?:asistente|assistant|secretari[oa]|secretary|auxiliar)\b"),
    ("student", r"\b(?:estudiante|student|becari[oa]|intern|internship|practicante|trainee)\b"),
    ("vp", r"\b(?:vp|svp|evp|vice ?president\w*|vicepresident[ea]?)\b"),
    (
        "c_level",
        r"\b(?:ceo|cto|cfo|coo|cmo|cio|chief|founder|co-?founder|fundador[a]?|cofundador[a]?"
        r"|director[a]? general|president[ea]?|owner|propietari[oa]|dueno|duena|socio director"
        r"|managing director|gerente general)\b",
    ),
    ("director", r"\b(?:director[a]?|head of|directeur)\b"),
    ("manager", r"\b(?:manager|gerente|responsable|jef[ea]|team lead|lead|supervisor[a]?)\b"),
    (
        "individual",
        r"\b(?:analista|analyst|ejecutiv[oa]|especialista|specialist|ingenier[oa]|engineer"
        r"|consultor[a]?|consultant|asistente|assistant|representative|representante"
        r"|coordinador[a]?|coordinator|tecnic[oa]|developer|desarrollador[a]?|administrativ[oa]"
        r"|vendedor[a]?|agente|agent)\b",
    ),
]
# titles that read as each level, for examples and the synthetic export (the rules above must read them so)
EXAMPLE_TITLES: dict[str, list[str]] = {
    "c_level": [
        "CEO",
        "Director General",
        "CTO",
        "CFO",
        "Fundador",
        "Co-founder & CEO",
        "Chief Marketing Officer",
        "Socio Director",
        "Presidente Ejecutivo",
    ],
    "vp": ["VP de Ventas", "VP Marketing", "Vicepresidente Comercial", "Vice President of Operations"],
    "director": [
        "Director de Marketing",
        "Directora Comercial",
        "Head of Sales",
        "Director de TI",
        "Head of Growth",
        "Directora de Operaciones",
    ],
    "manager": [
        "Gerente de Ventas",
        "Marketing Manager",
        "Responsable de Compras",
        "Jefe de Proyecto",
        "Team Lead",
        "Jefa de Marketing Digital",
        "Gerente de Operaciones",
    ],
    "individual": [
        "Analista de Marketing",
        "Ejecutivo de Cuentas",
        "Especialista SEO",
        "Ingeniero de Software",
        "Consultor",
        "Asistente Administrativo",
        "Sales Representative",
        "Coordinadora de Eventos",
        "Técnico de Soporte",
    ],
    "student": ["Estudiante", "Becario de Marketing", "Intern", "Practicante", "Student"],
}


def seniority_from_title(titles: pd.Series) -> pd.Series:
    """Seniority level read from free-text job titles (Spanish and English); missing where none is found."""
    norm = (
        titles.astype("str")
        .where(titles.notna(), "")
        .str.normalize("NFKD")
        .str.replace(r"[^\x00-\x7f]", "", regex=True)  # = encode("ascii", "ignore"), without Python strings
        .str.lower()
    )
    out = pd.Series(pd.NA, index=titles.index, dtype="str")
    for level, pattern in SENIORITY_RULES:
        hit = out.isna() & norm.str.contains(pattern, regex=True)
        out = out.mask(hit, level)
    return out
