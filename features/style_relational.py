"""The synthetic CRM history written as a relational export: leads, contacts, accounts and event tables.

The same history as ``features.synthetic.generate`` (same leads, outcomes and ``truth.csv``), reshaped
the way a CRM exports it: a lead names its contact, a contact its account (firmographics), and the
activities are split across three event tables. Each activity of the flat export is exactly one event
row, so the counts per type and window, and hence the Bayes AUC, are unchanged:

- ``email_events.csv`` (keyed by contact id): email_open, email_click, unsubscribe, with a type column;
- ``web_sessions.csv`` (keyed by lead id, no type column): one session per page_view or pricing_view,
  with ``Pages Viewed`` (noise) and ``Pricing Pages`` (1 for a pricing_view: what the truth counts);
- ``engagements.csv`` (keyed by lead id): downloads, webinars, forms, demo requests, calls and meetings.

``accounts.csv`` also carries an ``Account Stage`` written after the outcome (a customer once any of its
leads became an SQL): a leak for init-config's audit to catch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.synthetic import SyntheticCRM

EMAIL_TYPES = ["email_open", "email_click", "unsubscribe"]
WEB_TYPES = ["page_view", "pricing_view"]
REVENUE_BY_SIZE = {"1-10": 0.5, "11-50": 3.0, "51-200": 15.0, "201-1000": 80.0, "1000+": 400.0}  # millions


def relational_tables(crm: SyntheticCRM, *, seed: int = 7) -> dict[str, pd.DataFrame]:
    """The export's tables by file stem: leads, contacts, accounts, email_events, web_sessions, engagements, truth."""
    rng = np.random.default_rng(seed + 1)
    flat = crm.leads
    n = len(flat)
    contact_ids = np.array([f"C{i:07d}" for i in rng.permutation(n)], dtype=object)
    firm = ["Company", "Industry", "Company Size", "Country"]
    account_no = flat.groupby(firm, sort=True, dropna=False).ngroup().to_numpy()
    order = rng.permutation(account_no.max() + 1)  # account ids in no telling order
    account_ids = np.array([f"A{order[a]:06d}" for a in account_no], dtype=object)
    leads = pd.DataFrame(
        {
            "Lead ID": flat["Lead ID"],
            "Contact ID": contact_ids,
            "Created Date": flat["Created Date"],
            "MQL Date": flat["MQL Date"],
            "SQL Date": flat["SQL Date"],
            "Lead Source": flat["Lead Source"],
            "Campaign": flat["Campaign"],
            "Lead Status": flat["Lead Status"],
        }
    )
    contacts = pd.DataFrame(
        {
            "Contact ID": contact_ids,
            "Account ID": account_ids,
            "First Name": flat["First Name"],
            "Last Name": flat["Last Name"],
            "Email": flat["Email"],
            "Phone": flat["Phone"],
            "Job Title": flat["Job Title"],
        }
    ).sort_values("Contact ID", ignore_index=True)
    per_account = flat[firm].rename(columns={"Company Size": "Employees"})  # a band such as 51-200
    per_account = per_account.assign(**{"Account ID": account_ids, "won": flat["SQL Date"] != ""})
    accounts = per_account.groupby("Account ID", sort=True).agg(
        {"Company": "first", "Industry": "first", "Employees": "first", "Country": "first", "won": "max"}
    )
    size = accounts["Employees"].map(REVENUE_BY_SIZE).fillna(2.0).to_numpy()
    accounts["Annual Revenue"] = (size * 1e6 * rng.lognormal(0, 0.5, len(accounts))).round(-3).astype(np.int64)
    accounts["Account Stage"] = np.where(accounts.pop("won"), "Customer", "Prospect")  # written after the outcome
    accounts = accounts.reset_index()

    acts = crm.activities
    lead_no = pd.Series(np.arange(n), index=flat["Lead ID"]).loc[acts["Lead ID"]].to_numpy()
    kind = acts["Activity Type"].to_numpy()
    email = np.isin(kind, EMAIL_TYPES)
    web = np.isin(kind, WEB_TYPES)
    email_events = pd.DataFrame(
        {"Contact ID": contact_ids[lead_no[email]], "Event Time": acts["Timestamp"][email], "Event Type": kind[email]}
    )
    pricing = (kind[web] == "pricing_view").astype(int)
    web_sessions = pd.DataFrame(
        {
            "Session ID": [f"S{i:08d}" for i in range(int(web.sum()))],
            "Lead ID": acts["Lead ID"][web].to_numpy(),
            "Session Start": acts["Timestamp"][web].to_numpy(),
            "Pages Viewed": 1 + pricing + rng.poisson(1.5, int(web.sum())),
            "Pricing Pages": pricing,
        }
    )
    other = ~email & ~web
    engagements = pd.DataFrame(
        {"Lead ID": acts["Lead ID"][other], "Date": acts["Timestamp"][other], "Type": kind[other]}
    )
    return {
        "leads": leads,
        "contacts": contacts,
        "accounts": accounts,
        "email_events": email_events.reset_index(drop=True),
        "web_sessions": web_sessions,
        "engagements": engagements.reset_index(drop=True),
        "truth": crm.truth,
    }
