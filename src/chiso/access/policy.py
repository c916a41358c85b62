"""The one policy table: every route (method + path template) → the roles allowed, and how
unit scope applies. Rendered into ``docs/access.md`` (``chiso access policy --markdown``; a
test keeps the file fresh). A route missing here is refused (deny by default), and the
route-by-role test fails until it gets an entry.

Scope kinds, for principals whose grants for the route are limited to some units:

- ``none``: no unit scope (public pages, city-wide roles only, or nothing unit-shaped).
- ``query``: the ``unit`` query parameter is forced to the officer's unit when absent, and
  refused (403) when it names another unit.
- ``path:<param>``: the path parameter is a unit code; another unit's reads as not found.
- ``form``: the ``unit`` field of the posted form must be one of the officer's units.
- ``record``: the record's own unit is looked up; another unit's record reads as not found.
- ``task``: the task named by the path (``key``, ``task_id``) must be led by one of the
  officer's units (catalog assignments, role ``lead``); otherwise refused (403). A task no
  unit leads belongs to the city: only city-wide grants reach it.
- ``report``: the stored report named by ``report_id`` must be of one of the officer's
  units (the city's reports: city-wide grants only); another's reads as not found.
- ``decision``: the decision named by the path (``decision_id``) must name one of the
  officer's units as the unit that must act; another's reads as not found.
- ``raw``: the raw payload named by the path must belong to a batch uploaded for one of the
  officer's units (its file or its evidence); another's reads as not found.
- ``feed``: source tokens: the ``feed`` path parameter must be one the token covers; the
  token's units are enforced per record by intake.
"""

from __future__ import annotations

from dataclasses import dataclass

from chiso.access.roles import (
    AUDITOR,
    DATA_STEWARD,
    LEADER,
    OPERATOR,
    PERSON_ROLES,
    PUBLIC,
    ROLES,
    SIGNED_IN_ROLES,
    SOURCE,
    UNIT_OFFICER,
    VIEWER,
)


@dataclass(frozen=True)
class Rule:
    method: str
    path: str
    roles: frozenset[str]
    scope: str = "none"
    personal: bool = False  # reads personal data: every call is audited
    note: str = ""


EVERYONE = PERSON_ROLES
STAFF_RECORDS = frozenset({OPERATOR, DATA_STEWARD, UNIT_OFFICER})
QUALITY = frozenset({OPERATOR, LEADER, VIEWER, DATA_STEWARD, UNIT_OFFICER})
REPORT_READERS = frozenset({OPERATOR, LEADER, VIEWER, AUDITOR, UNIT_OFFICER})


def _r(method: str, path: str, roles: frozenset[str] | set[str], scope: str = "none",
       personal: bool = False, note: str = "") -> Rule:
    return Rule(method, path, frozenset(roles), scope, personal, note)


POLICY: tuple[Rule, ...] = (
    # -- published: the plan catalog and the unit registry (pages and API), open data ----
    _r("GET", "/", EVERYONE, note="home: the operations dashboard"),
    _r("GET", "/plans", EVERYONE, note="the plans"),
    _r("GET", "/plans/{key}", EVERYONE),
    _r("GET", "/plans/{key}/targets/{target_id}", EVERYONE),
    _r("GET", "/plans/{key}/tasks/{task_id}", EVERYONE),
    _r("GET", "/targets", EVERYONE),
    _r("GET", "/tasks", EVERYONE),
    _r("GET", "/units", EVERYONE),
    _r("GET", "/units/{code}", EVERYONE),
    _r("GET", "/static/{path}", EVERYONE, note="style sheets, fonts"),
    _r("GET", "/api/v1/health", EVERYONE),
    _r("GET", "/api/v1/openapi.json", EVERYONE),
    _r("GET", "/api/v1/plans", EVERYONE),
    _r("GET", "/api/v1/plans/{key}", EVERYONE),
    _r("GET", "/api/v1/targets", EVERYONE),
    _r("GET", "/api/v1/plans/{key}/targets/{target_id}", EVERYONE),
    _r("GET", "/api/v1/tasks", EVERYONE),
    _r("GET", "/api/v1/plans/{key}/tasks/{task_id}", EVERYONE),
    _r("GET", "/api/v1/units", EVERYONE),
    _r("GET", "/api/v1/units/search", EVERYONE),
    _r("GET", "/api/v1/units/{code}", EVERYONE),
    _r("GET", "/api/v1/feeds", EVERYONE | {SOURCE}, note="the data contracts"),
    _r("GET", "/api/v1/feeds/{feed}", EVERYONE | {SOURCE}),
    # -- intake: the push door (source tokens only), batches, data quality, uploads ---------
    _r("POST", "/api/v1/feeds/{feed}/records", {SOURCE}, "feed",
       note="source token: its feeds; its units checked per record"),
    _r("GET", "/api/v1/intake/batches", {OPERATOR, DATA_STEWARD, AUDITOR}, "query",
       note="provenance of every batch; ?unit= (a unit's own: the files uploaded for it)"),
    _r("GET", "/api/v1/intake/raw/{sha256}", {OPERATOR, DATA_STEWARD}, "raw", personal=True,
       note="a raw payload as received (may hold personal identifiers)"),
    _r("GET", "/api/v1/data-quality", QUALITY, "query"),
    _r("GET", "/intake/data-quality", QUALITY, "query", note="the data-quality page"),
    _r("GET", "/intake/upload", STAFF_RECORDS, note="the upload form"),
    _r("POST", "/intake/upload", STAFF_RECORDS, "form", note="a file for one unit"),
    _r("POST", "/intake/mappings", STAFF_RECORDS, "form",
       note="save a column mapping from the upload page (a new version, audited)"),
    _r("GET", "/api/v1/intake/mappings", STAFF_RECORDS | {AUDITOR}, "query",
       note="the latest column mapping of each (feed, unit, source)"),
    _r("GET", "/api/v1/intake/mappings/{feed}/{unit}", STAFF_RECORDS | {AUDITOR}, "path:unit",
       note="the version the next file is read with"),
    _r("GET", "/api/v1/intake/mappings/{feed}/{unit}/versions", STAFF_RECORDS | {AUDITOR},
       "path:unit"),
    _r("POST", "/api/v1/intake/mappings/{feed}/{unit}", STAFF_RECORDS, "path:unit",
       note="save a new version (audited); 422 names a wrong heading or field"),
    _r("POST", "/api/v1/intake/proposals/{feed}", STAFF_RECORDS,
       note="the likely field for each heading"),
    # -- records behind the numbers: personal data (pseudonyms), every read audited ---------
    _r("GET", "/api/v1/records/{feed}", STAFF_RECORDS, "query", personal=True),
    _r("GET", "/api/v1/records/{feed}/{source}/{record_id}", STAFF_RECORDS, "record",
       personal=True),
    # -- measurement: definitions, values, progress, the change stream -----------
    _r("GET", "/api/v1/indicators", EVERYONE, note="indicator definitions"),
    _r("GET", "/api/v1/indicators/{code}", EVERYONE),
    _r("GET", "/api/v1/indicators/{code}/values", EVERYONE,
       note="aggregates for any period, unit or the city"),
    _r("GET", "/api/v1/plans/{key}/targets/{target_id}/progress", EVERYONE),
    _r("GET", "/api/v1/indicators/{code}/records", STAFF_RECORDS, "query", personal=True,
       note="the records behind a value (pseudonyms)"),
    _r("GET", "/api/v1/stream", EVERYONE, note="server-sent events: changed values"),
    # -- outlook and scoring: aggregates, public like the values -----------------
    _r("GET", "/api/v1/plans/{key}/targets/{target_id}/outlook", EVERYONE,
       note="forecast, status, progress measure, sentence; ?unit="),
    _r("GET", "/api/v1/tasks/warnings", EVERYONE, note="overdue, due soon, milestones slipping"),
    _r("GET", "/api/v1/scores/{method}/{unit}", EVERYONE,
       note="score tree down to indicator values; records stay staff-only"),
    _r("GET", "/api/v1/rankings/{method}", EVERYONE, note="ranks, change and its explanation"),
    _r("POST", "/api/v1/plans/{key}/tasks/{task_id}/evidence",
       {UNIT_OFFICER, OPERATOR, DATA_STEWARD}, "task",
       note="attach a file (multipart) or link (JSON) to a task or milestone; lead units "
            "(a task no unit leads: city-wide operator or data steward only)"),
    _r("GET", "/api/v1/plans/{key}/tasks/{task_id}/evidence",
       {UNIT_OFFICER, OPERATOR, LEADER, AUDITOR, VIEWER}, "task",
       note="the task's evidence: hash, size, uploader, time"),
    _r("GET", "/api/v1/alerts", {UNIT_OFFICER, OPERATOR, LEADER, AUDITOR, VIEWER}, "query",
       note="in-app alerts and their deliveries; ?unit="),
    _r("GET", "/canh-bao", {UNIT_OFFICER, OPERATOR, LEADER, AUDITOR, VIEWER}, "query",
       note="the alerts page: open alerts by unit with their deliveries; ?unit=&closed="),
    # -- open data: datasets with their dictionaries, public like the values -------------
    _r("GET", "/du-lieu-mo", EVERYONE, note="the open datasets, their fields and links"),
    _r("GET", "/du-lieu-mo/{dataset}.csv", EVERYONE, note="a dataset as CSV; ?period="),
    _r("GET", "/du-lieu-mo/{dataset}.xlsx", EVERYONE,
       note="a dataset as an Excel workbook with its dictionary; ?period="),
    _r("GET", "/du-lieu-mo/{dataset}.json", EVERYONE, note="a dataset as JSON; ?period="),
    _r("GET", "/du-lieu-mo/{dataset}/dictionary.json", EVERYONE,
       note="a dataset's data dictionary"),
    _r("GET", "/du-lieu-mo/{dataset}/changes.{fmt}", EVERYONE,
       note="a dataset's change log (csv, json): figures that changed after publication"),
    _r("GET", "/api/v1/opendata", EVERYONE, note="the open datasets and their resources"),
    _r("GET", "/api/3/action/{action}", EVERYONE,
       note="CKAN Action API, read side: harvesters list, show and search the datasets"),
    _r("GET", "/catalog.{fmt}", EVERYONE,
       note="DCAT-AP 3 catalog: ttl, jsonld, xml; Hydra ?page=, ?modified_since="),
    _r("GET", "/dataset/{dataset}.{fmt}", EVERYONE, note="DCAT-AP 3 dataset: ttl, jsonld, xml"),
    # -- the outbox: messages to the EMC and webhook subscribers, for operators ----------
    _r("GET", "/api/v1/outbox", {OPERATOR, AUDITOR},
       note="per channel: waiting, delivered, dead, last success and failure"),
    _r("GET", "/api/v1/outbox/messages", {OPERATOR, AUDITOR},
       note="messages with their bodies; ?state=dead lists the dead letters"),
    _r("GET", "/api/v1/outbox/messages/{message_id}/attempts", {OPERATOR, AUDITOR},
       note="every delivery attempt at a message"),
    _r("POST", "/api/v1/outbox/messages/{message_id}/retry", {OPERATOR},
       note="requeue a dead-lettered message"),
    _r("GET", "/api/v1/exports/versions", {OPERATOR, AUDITOR},
       note="the exporters' content versions and their messages' states"),
    _r("GET", "/api/v1/webhooks", {OPERATOR, AUDITOR},
       note="webhook subscriptions and why one was turned off (never secrets)"),
    _r("POST", "/api/v1/webhooks", {OPERATOR}, note="subscribe a URL to events"),
    _r("GET", "/api/v1/webhooks/{subscription_id}", {OPERATOR, AUDITOR}),
    _r("PATCH", "/api/v1/webhooks/{subscription_id}", {OPERATOR},
       note="change URL, events or secret; turn off or on again"),
    _r("DELETE", "/api/v1/webhooks/{subscription_id}", {OPERATOR},
       note="delete a subscription"),
    _r("GET", "/api/v1/webhooks/{subscription_id}/deliveries", {OPERATOR, AUDITOR},
       note="a subscription's messages and every attempt"),
    _r("GET", "/admin/webhooks", {OPERATOR, AUDITOR},
       note="page: subscriptions, the ones turned off after failures as a notice; add one"),
    _r("POST", "/admin/webhooks", {OPERATOR}, note="page: subscribe a URL to events"),
    _r("GET", "/admin/webhooks/{subscription_id}", {OPERATOR, AUDITOR},
       note="page: a subscription, its deliveries and every attempt"),
    _r("POST", "/admin/webhooks/{subscription_id}/disable", {OPERATOR},
       note="page: turn a subscription off"),
    _r("POST", "/admin/webhooks/{subscription_id}/enable", {OPERATOR},
       note="page: turn a subscription on again"),
    # -- pull sources: the connectors the service runs ------------------------------------
    _r("GET", "/api/v1/pull-sources", {OPERATOR, AUDITOR},
       note="pull sources, their runs, lag, errors and outages (credentials by name only)"),
    _r("GET", "/api/v1/pull-sources/{name}", {OPERATOR, AUDITOR}),
    _r("PUT", "/api/v1/pull-sources/{name}", {OPERATOR},
       note="add or change a pull source; credentials go in sealed, never come out"),
    _r("POST", "/api/v1/pull-sources/{name}/pause", {OPERATOR}),
    _r("POST", "/api/v1/pull-sources/{name}/resume", {OPERATOR}),
    _r("GET", "/admin/pull-sources", {OPERATOR, AUDITOR}, note="the pull sources page"),
    _r("POST", "/admin/pull-sources", {OPERATOR}, note="add or change a pull source (form)"),
    _r("POST", "/admin/pull-sources/{name}/pause", {OPERATOR}, note="pause or resume (form)"),
    # -- the operations dashboard: tiles and their live stream -------------------
    _r("GET", "/api/v1/dashboard", EVERYONE,
       note="every group and tile: question, value, target, status, trend, freshness"),
    _r("GET", "/api/v1/dashboard/tiles/{tile_id}", EVERYONE),
    _r("GET", "/api/v1/units/{code}/brief", QUALITY, "path:code",
       note="a unit's first screen: its places in the rankings with why, targets at risk, "
       "overdue tasks, whether its feeds were complete and on time"),
    _r("GET", "/api/v1/dashboard/attention", EVERYONE,
       note="the first screen: statuses counted, warnings, rank movers, newly overdue tasks, "
       "decisions past their follow-up date without movement (no decision text)"),
    _r("GET", "/dashboard/stream", EVERYONE, note="server-sent events: changed tiles as HTML"),
    _r("GET", "/sme", EVERYONE, note="the SME programme's questions (public aggregates)"),
    _r("GET", "/api/v1/sme/programme", EVERYONE,
       note="the SME programme: communes and sectors behind, exemplary SMEs, results "
       "(public aggregates, no enterprise named)"),
    # -- dashboard: the commune map --------------------------------------------------------
    _r("GET", "/map", EVERYONE, note="the commune map (public aggregates)"),
    _r("GET", "/api/v1/map", EVERYONE, note="each commune's value of an indicator or score"),
    _r("GET", "/api/v1/map/shapes", EVERYONE, note="simplified boundaries or the tile grid"),
    # -- dashboard: rankings and the tasks-and-deadlines view ------------------------------
    _r("GET", "/rankings", EVERYONE, note="the scoring methods and their rankings"),
    _r("GET", "/rankings/{method}", EVERYONE,
       note="a ranking page: ranks, change since the previous period and why"),
    _r("GET", "/units/{code}/scores/{method}", EVERYONE,
       note="a unit's score tree down to its inputs and formulas"),
    _r("GET", "/deadlines", EVERYONE,
       note="tasks overdue, due soon, milestones slipping, per lead unit; evidence details "
            "only to those the evidence route admits"),
    # -- dashboard: indicator pages down to the records ------------------------------------
    _r("GET", "/indicators", EVERYONE, note="every indicator with the city's value"),
    _r("GET", "/indicators/{code}", EVERYONE,
       note="an indicator for the city or a unit: definition, trend, targets, each unit"),
    _r("GET", "/indicators/{code}/records", STAFF_RECORDS, "query", personal=True,
       note="the records page behind a number (pseudonyms), 50 a page"),
    # -- dashboard: the decision log -------------------------------------------------------
    _r("POST", "/api/v1/decisions", {LEADER, OPERATOR},
       note="record a decision taken from a tile (append-only; a correction is a new one)"),
    _r("GET", "/api/v1/decisions", {LEADER, OPERATOR, VIEWER, AUDITOR, UNIT_OFFICER}, "query",
       note="decisions with their text and the values seen; ?tile=&month=&page="),
    _r("GET", "/api/v1/decisions/counts", EVERYONE,
       note="decisions per tile and per month: counts only, no text"),
    _r("GET", "/decisions", EVERYONE,
       note="the decision log: counts for everyone; texts for those who may read them"),
    _r("GET", "/decisions/new", {LEADER, OPERATOR},
       note="the form: the tile's question and the values it shows now"),
    _r("POST", "/decisions", {LEADER, OPERATOR}, note="record a decision (form)"),
    # -- reports: stored reports, their files, building and issuing ------------------------
    _r("GET", "/api/v1/reports", REPORT_READERS, "query",
       note="stored reports by kind, period, unit (a unit officer: its unit's); ?kind=&period="),
    _r("POST", "/api/v1/reports", {OPERATOR},
       note="build a report now and store it as a draft (or restate an issued one)"),
    _r("GET", "/api/v1/reports/reduction", REPORT_READERS,
       note="manual reporting reduced: reports required and written per kind (counts only)"),
    _r("GET", "/api/v1/reports/{report_id}", REPORT_READERS, "report",
       note="a stored report: status, hashes, versions, restated figures, files"),
    _r("GET", "/api/v1/reports/{report_id}/files/{name}", REPORT_READERS, "report",
       note="download a report's DOCX, XLSX, PDF or manifest"),
    _r("POST", "/api/v1/reports/{report_id}/issue", {OPERATOR, UNIT_OFFICER}, "report",
       note="issue a draft: number, date, signer, proposals; then frozen"),
    _r("GET", "/bao-cao", REPORT_READERS, "query", note="the reports page (Vietnamese path)"),
    _r("GET", "/reports", REPORT_READERS, "query", note="the reports page (English path)"),
    _r("POST", "/bao-cao/{report_id}/issue", {OPERATOR, UNIT_OFFICER}, "report",
       note="issue a draft from the reports page (form): number, date, signer, proposals"),
    _r("POST", "/api/v1/decisions/{decision_id}/acknowledge", {UNIT_OFFICER}, "decision",
       note="the unit that must act acknowledges the decision (once; append-only)"),
    _r("POST", "/decisions/{decision_id}/acknowledge", {UNIT_OFFICER}, "decision",
       note="acknowledge a decision (form)"),
    # -- signing in and out ----------------------------------------------------------------
    _r("GET", "/signin", EVERYONE),
    _r("POST", "/signin", EVERYONE, note="lock-out after repeated failures"),
    _r("GET", "/signin/oidc", EVERYONE, note="single sign-on: to the city's provider"),
    _r("GET", "/signin/oidc/callback", EVERYONE,
       note="back from the provider: state, PKCE, ID token checked; audited"),
    _r("POST", "/signout", EVERYONE),
    _r("GET", "/api/v1/me", SIGNED_IN_ROLES, note="who am I, my roles and units"),
    # -- the operator's user page ----------------------------------------------------------
    _r("GET", "/admin/users", {OPERATOR}),
    _r("POST", "/admin/users", {OPERATOR}, note="add a user"),
    _r("POST", "/admin/users/{name}/grants", {OPERATOR}, note="grant or revoke a role"),
    _r("GET", "/admin/users/{name}", {OPERATOR},
       note="one account: its sessions and API tokens"),
    _r("POST", "/admin/users/{name}/disable", {OPERATOR},
       note="disable: sessions and API tokens stop at once"),
    _r("POST", "/admin/users/{name}/enable", {OPERATOR}),
    _r("POST", "/admin/users/{name}/password", {OPERATOR},
       note="operator password reset: the user's sessions end"),
    _r("POST", "/admin/users/{name}/sessions/{session_id}/revoke", {OPERATOR}),
    _r("POST", "/admin/users/{name}/tokens/{token_id}/revoke", {OPERATOR}),
    _r("GET", "/api/v1/users", {OPERATOR}, note="every account, its grants and state"),
    _r("POST", "/api/v1/users/{name}/disable", {OPERATOR},
       note="disable: sessions and API tokens stop at once"),
    _r("POST", "/api/v1/users/{name}/enable", {OPERATOR}),
    _r("POST", "/api/v1/users/{name}/password", {OPERATOR},
       note="password reset: the user's sessions end"),
    _r("GET", "/api/v1/users/{name}/sessions", {OPERATOR}, note="open sessions"),
    _r("DELETE", "/api/v1/users/{name}/sessions/{session_id}", {OPERATOR}),
    _r("GET", "/api/v1/users/{name}/tokens", {OPERATOR}, note="API tokens"),
    _r("DELETE", "/api/v1/users/{name}/tokens/{token_id}", {OPERATOR}),
    # -- audit -----------------------------------------------------------------------------
    _r("GET", "/api/v1/audit", {AUDITOR}, note="search by person, unit, record"),
    _r("GET", "/api/v1/audit/verify", {AUDITOR}, note="check the chain and checkpoints"),
    _r("GET", "/audit", {AUDITOR}, note="the auditor's search page"),
    _r("GET", "/my-data", EVERYONE,
       note="who accessed data about me: a citizen's identifier, answered by unit and date"),
)

_INDEX: dict[tuple[str, str], Rule] = {(r.method, r.path): r for r in POLICY}
assert len(_INDEX) == len(POLICY), "a route has two rules"
assert all(role in ROLES or role == SOURCE for r in POLICY for role in r.roles)


def rule_for(method: str, path: str) -> Rule | None:
    """The rule of a route template; HEAD follows GET."""
    return _INDEX.get(("GET" if method == "HEAD" else method, path))


ROLE_ORDER = (PUBLIC, VIEWER, LEADER, UNIT_OFFICER, DATA_STEWARD, AUDITOR, OPERATOR, SOURCE)
_SHORT = {PUBLIC: "public", VIEWER: "viewer", LEADER: "leader", UNIT_OFFICER: "unit officer",
          DATA_STEWARD: "data steward", AUDITOR: "auditor", OPERATOR: "operator",
          SOURCE: "source token"}


def markdown() -> str:
    """The policy as the table in docs/access.md."""
    head = "| method | route | " + " | ".join(_SHORT[r] for r in ROLE_ORDER) + " | scope | note |"
    rule = "|---|---|" + "---|" * len(ROLE_ORDER) + "---|---|"
    lines = [head, rule]
    for r in POLICY:
        cells = []
        for role in ROLE_ORDER:
            if role not in r.roles:
                cells.append("")
            elif role == UNIT_OFFICER and r.scope != "none" and PUBLIC not in r.roles:
                cells.append("own unit")
            else:
                cells.append("yes")
        note = r.note + (" (personal data: audited)" if r.personal else "")
        lines.append(f"| {r.method} | `{r.path}` | " + " | ".join(cells)
                     + f" | {r.scope} | {note} |")
    roles = ["| role | who |", "|---|---|"] + [f"| {_SHORT[k]} | {v} |" for k, v in
                                               ROLES.items()]
    return "\n".join(roles) + "\n\n" + "\n".join(lines) + "\n"
