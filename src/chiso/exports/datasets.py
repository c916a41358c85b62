"""The open datasets: what each one is (its data dictionary) and its rows for a period.

Every dataset reads the rooms' typed answers (measurement's values, scoring's rankings,
intake's data accountability), never an HTTP door. Every row carries its provenance in the
same five fields (:data:`PROVENANCE`): when the data it rests on was last accepted, the method
and its version, the catalog version it was computed under, and the feeds it rests on.

Errors are :class:`DatasetError` (no such dataset, a period that is not a period), whose
message names the parameter and says what to give instead.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from io import BytesIO
from typing import Any, Literal
from zipfile import ZIP_DEFLATED, ZipFile

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Connection, select

from chiso.catalog.indicators import Measurement
from chiso.catalog.methods import Method, Node
from chiso.context import Runtime
from chiso.exports.zipped import fixed
from chiso.intake import quality
from chiso.measurement import values as mv
from chiso.measurement.periods import Period, PeriodError, parse_period
from chiso.outlook import answers as outlook
from chiso.scoring import answers as scoring
from chiso.store import catalog_reads as reads
from chiso.store.tables import catalog_loads

_MAX_TASKS = 10_000  # far above the plans' few hundred tasks: one page, bounded
FieldType = Literal["string", "integer", "number", "boolean", "date", "datetime"]


class DatasetError(LookupError):
    """A dataset or a parameter of it that does not exist; the message says what to give."""


class Field(BaseModel):
    """One column of a dataset: a stable name (the CSV header), its type and its meaning."""

    model_config = ConfigDict(frozen=True)

    name: str
    type: FieldType
    description_vi: str
    description_en: str


class Dataset(BaseModel):
    """A dataset's metadata and its data dictionary (the ``fields``, in column order)."""

    model_config = ConfigDict(frozen=True)

    id: str
    title_vi: str
    title_en: str
    description_vi: str
    description_en: str
    keywords: tuple[str, ...]
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Table:
    """A dataset's rows for one period, and when the newest data behind them changed."""

    dataset: Dataset
    period: str
    rows: list[dict[str, Any]]
    last_modified: datetime

    def csv(self) -> bytes:
        """UTF-8 CSV with one header row of the field names; empty cells for nulls."""
        out = io.StringIO()
        writer = csv.DictWriter(out, [f.name for f in self.dataset.fields],
                                lineterminator="\r\n")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({k: _cell(v) for k, v in row.items()})
        return out.getvalue().encode("utf-8")

    def xlsx(self) -> bytes:
        """The same table as a spreadsheet for a person opening it in Excel, whose CSV import
        reads the file's text in the computer's code page and its decimals by its locale
        (Vietnamese: a comma): numbers and booleans as typed cells, text never read as a
        formula, the header row frozen, and a second sheet with the data dictionary. Written
        byte for byte the same for the same rows (dated by their last change)."""
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = "data"
        names = [f.name for f in self.dataset.fields]
        sheet.append(names)
        for row in self.rows:
            sheet.append([_typed(row.get(name)) for name in names])
        for cells in sheet.iter_rows(min_row=2):
            for cell in cells:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # "=…", "+…", "@…" from a source stay text
        sheet.freeze_panes = "A2"
        for i, name in enumerate(names, start=1):
            sheet.column_dimensions[get_column_letter(i)].width = max(10, min(40, len(name) + 4))
        words = book.create_sheet("dictionary")
        words.append(["field", "type", "mô tả", "description"])
        for f in self.dataset.fields:
            words.append([f.name, f.type, f.description_vi, f.description_en])
        stamp = self.last_modified.astimezone(UTC).replace(tzinfo=None)
        book.properties.created = book.properties.modified = stamp
        book.properties.title = self.dataset.title_vi
        raw = BytesIO()
        # ExcelWriter, not Workbook.save: that sets the modified time to now
        ExcelWriter(book, ZipFile(raw, "w", ZIP_DEFLATED)).save()
        return fixed(raw.getvalue(), stamp)

    def json(self) -> bytes:
        """``{"dataset", "period", "last_modified", "fields", "rows"}``, UTF-8."""
        body = {"dataset": self.dataset.id, "period": self.period,
                "last_modified": _plain(self.last_modified),
                "fields": [f.name for f in self.dataset.fields],
                "rows": [{k: _plain(v) for k, v in r.items()} for r in self.rows]}
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _plain(v: Any) -> Any:
    if isinstance(v, datetime):  # SQLite hands back naive times; chiso stores UTC
        return (v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)).isoformat()
    return v.isoformat() if isinstance(v, date) else v


def _typed(v: Any) -> Any:
    """A spreadsheet cell's value: numbers and booleans typed, times as in the CSV."""
    if v is None or isinstance(v, bool | int | float):
        return v
    return str(_plain(v))


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return _plain(v)


def _f(name: str, type_: FieldType, vi: str, en: str) -> Field:
    return Field(name=name, type=type_, description_vi=vi, description_en=en)


#: The provenance every row carries, last in every dataset.
PROVENANCE: tuple[Field, ...] = (
    _f("as_of", "datetime", "Thời điểm tiếp nhận lô dữ liệu mới nhất làm căn cứ cho dòng này",
       "When the newest batch of data this row rests on was accepted"),
    _f("method", "string", "Phương pháp tính: mã chỉ số, bộ tiêu chí hoặc quy tắc đánh giá",
       "How it was computed: the indicator, the scoring method or the accountability rule"),
    _f("method_version", "string", "Phiên bản của bộ tiêu chí (trống: theo phiên bản danh mục)",
       "The method's version (empty: versioned with the catalog)"),
    _f("catalog_version", "string", "Phiên bản danh mục (mã băm nội dung) khi tính",
       "The catalog version (content digest) it was computed under"),
    _f("feeds", "string", "Các nguồn dữ liệu làm căn cứ, cách nhau bởi dấu chấm phẩy",
       "The source feeds it rests on, separated by semicolons"),
)

_PERIOD = (
    _f("period", "string", "Kỳ: năm 2026, quý 2026-Q1, tháng 2026-03",
       "Period: a year 2026, a quarter 2026-Q1, a month 2026-03"),
    _f("period_start", "date", "Ngày đầu kỳ", "First day of the period"),
    _f("period_end", "date", "Ngày cuối kỳ", "Last day of the period"),
)

INDICATOR_VALUES = Dataset(
    id="indicator-values",
    title_vi="Giá trị chỉ số theo đơn vị và kỳ",
    title_en="Indicator values by unit and period",
    description_vi="Giá trị của từng chỉ số cho từng đơn vị có dữ liệu và cho toàn Thành phố "
                   "(mã UBNDTP), tính từ dữ liệu của các hệ thống nghiệp vụ.",
    description_en="Each indicator's value for every unit with data and for the whole city "
                   "(code UBNDTP), computed from the data of the systems that do the work.",
    keywords=("chỉ số", "chuyển đổi số", "indicators"),
    fields=(
        _f("indicator", "string", "Mã chỉ số", "Indicator code"),
        _f("indicator_name_vi", "string", "Tên chỉ số", "Indicator name in Vietnamese"),
        _f("indicator_name_en", "string", "Tên chỉ số bằng tiếng Anh", "Indicator name"),
        _f("unit", "string", "Mã đơn vị (UBNDTP: toàn Thành phố)", "Unit code (UBNDTP: city)"),
        *_PERIOD,
        _f("value", "number", "Giá trị (trống: chưa đủ dữ liệu)", "Value (empty: no data)"),
        _f("unit_of_measure", "string", "Đơn vị tính", "Unit of measure"),
        _f("numerator", "number", "Tử số", "Numerator"),
        _f("denominator", "number", "Mẫu số", "Denominator"),
        _f("records", "integer", "Số bản ghi làm căn cứ", "Records it rests on"),
        _f("changed_at", "datetime", "Thời điểm dữ liệu làm căn cứ thay đổi lần cuối",
           "When the data it rests on last changed"),
        *PROVENANCE,
    ),
)

SCORES = Dataset(
    id="scores",
    title_vi="Điểm và thứ hạng theo bộ tiêu chí và kỳ",
    title_en="Scores and ranks by method and period",
    description_vi="Điểm và thứ hạng của các sở, ngành và xã, phường theo từng bộ tiêu chí "
                   "đánh giá, xếp hạng cho kỳ được chọn.",
    description_en="Points and ranks of the departments, agencies and communes by each "
                   "scoring method for the chosen period.",
    keywords=("xếp hạng", "đánh giá", "scores", "rankings"),
    fields=(
        _f("kind", "string", "Loại đơn vị: department, agency, commune",
           "Kind of unit: department, agency, commune"),
        _f("unit", "string", "Mã đơn vị", "Unit code"),
        _f("unit_name", "string", "Tên đơn vị", "Unit name"),
        *_PERIOD,
        _f("rank", "integer", "Thứ hạng (1 là cao nhất)", "Rank (1 is the highest)"),
        _f("of", "integer", "Số đơn vị cùng loại được xếp hạng", "Units of the kind ranked"),
        _f("points", "number", "Điểm đạt được", "Points"),
        _f("max_points", "number", "Điểm tối đa", "Maximum points"),
        _f("missing", "integer", "Số tiêu chí thiếu dữ liệu", "Criteria whose input was missing"),
        _f("provisional", "boolean", "Bộ tiêu chí tạm thời (trọng số chưa chính thức)",
           "Provisional method (weights not yet official)"),
        _f("stored", "boolean", "Điểm đã lưu (false: tính tại thời điểm tải)",
           "Stored scores (false: computed when downloaded)"),
        *PROVENANCE,
    ),
)

ACCOUNTABILITY = Dataset(
    id="data-accountability",
    title_vi="Trách nhiệm cung cấp dữ liệu theo đơn vị, nguồn và tháng",
    title_en="Data accountability by unit, feed and month",
    description_vi="Mức đầy đủ và đúng hạn của dữ liệu mà từng đơn vị gửi qua từng nguồn "
                   "dữ liệu nghiệp vụ, theo tháng, so với yêu cầu của hợp đồng dữ liệu.",
    description_en="How complete and timely the records each unit sends through each "
                   "records feed are, per month, against the feed's data contract.",
    keywords=("chất lượng dữ liệu", "data quality"),
    fields=(
        _f("feed", "string", "Mã nguồn dữ liệu", "Feed code"),
        _f("unit", "string", "Mã đơn vị", "Unit code"),
        _f("month", "string", "Tháng (YYYY-MM)", "Month (YYYY-MM)"),
        _f("records", "integer", "Số bản ghi nhận được", "Records received"),
        _f("periods_due", "integer", "Số kỳ phải gửi", "Periods the contract expects"),
        _f("periods_met", "integer", "Số kỳ đã gửi đủ", "Periods sent in full"),
        _f("completeness", "number", "Tỷ lệ đầy đủ (0–1)", "Completeness (0–1)"),
        _f("mean_delay_hours", "number", "Độ trễ trung bình (giờ)", "Mean delay (hours)"),
        _f("on_time_share", "number", "Tỷ lệ bản ghi gửi đúng hạn (0–1)",
           "Share of records sent on time (0–1)"),
        *PROVENANCE,
    ),
)

TARGET_STATUS = Dataset(
    id="target-status",
    title_vi="Tình trạng thực hiện chỉ tiêu, dự báo và khoảng tin cậy",
    title_en="Target status with forecast and interval",
    description_vi="Với mỗi chỉ tiêu đã gắn chỉ số: tình trạng, giá trị mới nhất, dự báo tại "
                   "hạn với khoảng tin cậy, cho toàn Thành phố và cho từng đơn vị thực hiện có "
                   "dữ liệu trong kỳ.",
    description_en="For each target bound to an indicator: status, latest value, forecast at "
                   "the deadline with its interval, for the city and for each implementing "
                   "unit with data in the period.",
    keywords=("chỉ tiêu", "dự báo", "targets", "forecast"),
    fields=(
        _f("plan", "string", "Số hiệu kế hoạch", "Plan number"),
        _f("target", "string", "Mã chỉ tiêu trong kế hoạch", "Target id within the plan"),
        _f("unit", "string", "Mã đơn vị (UBNDTP: toàn Thành phố)", "Unit code (UBNDTP: city)"),
        _f("unit_name", "string", "Tên đơn vị", "Unit name"),
        _f("indicator", "string", "Chỉ số đo chỉ tiêu", "The indicator measuring it"),
        _f("direction", "string", "Chiều: >=, >, <=, <, =, rank<= (thứ hạng)",
           "Direction of the target: >=, >, <=, <, =, rank<= (a place in a ranking)"),
        _f("threshold", "number", "Ngưỡng chỉ tiêu", "Threshold"),
        _f("unit_of_measure", "string", "Đơn vị tính", "Unit of measure"),
        _f("deadline", "date", "Hạn hoàn thành", "Deadline"),
        _f("today", "date", "Ngày đánh giá", "Day of the assessment"),
        _f("status", "string", "Tình trạng (tiếng Việt)", "Status in Vietnamese"),
        _f("status_en", "string", "Tình trạng (tiếng Anh)", "Status in English"),
        _f("flagged", "boolean", "Cần chú ý", "Flagged for attention"),
        _f("probability", "number", "Xác suất đạt tại hạn (0–1)",
           "Probability of meeting it by the deadline (0–1)"),
        _f("latest_value", "number", "Giá trị tháng gần nhất", "Latest monthly value"),
        _f("latest_at", "date", "Ngày của giá trị gần nhất", "Day of the latest value"),
        _f("forecast_value", "number", "Giá trị dự báo tại hạn", "Forecast at the deadline"),
        _f("forecast_low", "number", "Cận dưới khoảng dự báo", "Forecast interval, low"),
        _f("forecast_high", "number", "Cận trên khoảng dự báo", "Forecast interval, high"),
        _f("forecast_interval", "string", "Mức của khoảng dự báo (80%)",
           "The interval's level (80%)"),
        _f("awaiting_data", "string", "Lý do chưa đánh giá được", "Why it is not assessed yet"),
        *PROVENANCE,
    ),
)

TASK_PROGRESS = Dataset(
    id="task-progress",
    title_vi="Tiến độ thực hiện nhiệm vụ",
    title_en="Task progress",
    description_vi="Mỗi nhiệm vụ của các kế hoạch: đơn vị chủ trì, thời hạn, tình trạng so với "
                   "thời hạn và các cảnh báo (quá hạn, sắp đến hạn chưa có minh chứng, mốc "
                   "chậm) tại ngày đánh giá.",
    description_en="Every task of the plans: lead units, deadline, status against the deadline "
                   "and the warnings (overdue, due soon without evidence, milestone slipping) "
                   "on the day of the assessment.",
    keywords=("nhiệm vụ", "tiến độ", "tasks"),
    fields=(
        _f("plan", "string", "Số hiệu kế hoạch", "Plan number"),
        _f("task", "string", "Mã nhiệm vụ trong kế hoạch", "Task id within the plan"),
        _f("section", "string", "Phần của kế hoạch", "Section of the plan"),
        _f("title", "string", "Nội dung nhiệm vụ", "The task as the plan writes it"),
        _f("lead", "string", "Mã đơn vị chủ trì, cách nhau bởi dấu chấm phẩy",
           "Lead units' codes, separated by semicolons"),
        _f("deadline", "date", "Thời hạn (trống: thường xuyên hoặc không ghi)",
           "Deadline (empty: ongoing or none written)"),
        _f("deadline_kind", "string", "Loại thời hạn", "Kind of deadline"),
        _f("today", "date", "Ngày đánh giá", "Day of the assessment"),
        _f("status", "string", "Tình trạng so với thời hạn", "Status against the deadline"),
        _f("warnings", "string", "Cảnh báo, cách nhau bởi dấu chấm phẩy",
           "Warnings, separated by semicolons"),
        *PROVENANCE,
    ),
)

DATASETS: dict[str, Dataset] = {d.id: d for d in (INDICATOR_VALUES, TARGET_STATUS, SCORES,
                                                  TASK_PROGRESS, ACCOUNTABILITY)}


def get(dataset_id: str) -> Dataset:
    found = DATASETS.get(dataset_id)
    if found is None:
        raise DatasetError(f"no dataset {dataset_id!r}; the datasets are "
                           f"{', '.join(sorted(DATASETS))}")
    return found


def _period(label: str, today: date) -> Period:
    try:
        return parse_period(label or str(today.year), today)
    except PeriodError as exc:
        raise DatasetError(f"period: {exc}") from exc


def _latest(*times: datetime | None) -> datetime | None:
    got = [t for t in times if t is not None]
    return max(got) if got else None


def _catalog_loaded(conn: Connection, rt: Runtime) -> datetime:
    loaded: datetime | None = conn.execute(select(catalog_loads.c.loaded_at).where(
        catalog_loads.c.digest == rt.catalog.digest)).scalar()
    if loaded is None:
        raise DatasetError("the catalog is not loaded: run `chiso db upgrade`")
    return loaded


def _unit_values(conn: Connection, m: Measurement, code: str, p: Period,
                 today: date) -> list[mv.Value]:
    """The units' values of ``code``, but for the city's: the city's row is coded
    ``mv.CITY``, so a published figure whose record names the city as its unit is that row,
    not a unit's (one row per indicator, unit and period)."""
    return [v for v in mv.values(conn, m, code, p.label, level="units", today=today)
            if v.unit != mv.CITY]


def _indicator_rows(conn: Connection, rt: Runtime, p: Period,
                    today: date) -> Iterator[dict[str, Any]]:
    m = rt.catalog.measurement
    if m is None:
        return
    for code, ind in sorted(m.indicators.items()):
        found = [*_unit_values(conn, m, code, p, today),
                 *mv.values(conn, m, code, p.label, level="city", today=today)]
        for v in found:
            if v.records == 0 and v.value is None:
                continue
            yield {"indicator": code, "indicator_name_vi": ind.name_vi,
                   "indicator_name_en": ind.name_en, "unit": v.unit or mv.CITY,
                   "period": v.period, "period_start": v.start, "period_end": v.end,
                   "value": v.value, "unit_of_measure": ind.unit_of_measure,
                   "numerator": v.numerator, "denominator": v.denominator,
                   "records": v.records, "changed_at": v.changed_at, "as_of": v.as_of,
                   "method": f"indicator {code}", "method_version": None,
                   "catalog_version": rt.catalog.digest, "feeds": ind.feed}


def _target_rows(conn: Connection, rt: Runtime, p: Period,
                 today: date) -> Iterator[dict[str, Any]]:
    m = rt.catalog.measurement
    if m is None:
        return
    for plan, pb in sorted(m.plans.items()):
        for target, binding in sorted(pb.bindings.items()):
            units: list[str | None] = [None]
            if binding.indicators and binding.level in ("implementing", "records"):
                units += sorted({v.unit for v in _unit_values(
                    conn, m, binding.indicators[0], p, today) if v.unit and v.records})
            for unit in units:
                yield _target_row(conn, rt, outlook.target_outlook(
                    conn, rt.catalog, plan, target, unit, today))


def _target_row(conn: Connection, rt: Runtime, o: outlook.Outlook) -> dict[str, Any]:
    m = rt.catalog.measurement
    feed = m.indicators[o.indicator].feed if m and o.indicator else None
    fc = o.forecast
    return {"plan": o.plan, "target": o.target, "unit": o.unit or mv.CITY,
            "unit_name": o.unit_name, "indicator": o.indicator, "direction": o.direction,
            "threshold": o.threshold, "unit_of_measure": o.unit_of_measure,
            "deadline": o.deadline, "today": o.today, "status": o.status,
            "status_en": o.status_en, "flagged": o.flagged, "probability": o.probability,
            "latest_value": o.latest.value if o.latest else None,
            "latest_at": o.latest.at if o.latest else None,
            "forecast_value": fc.value if fc else None, "forecast_low": fc.low if fc else None,
            "forecast_high": fc.high if fc else None,
            "forecast_interval": fc.interval if fc else None,
            "awaiting_data": o.awaiting_data,
            "as_of": mv.feed_as_of(conn, feed) if feed else None,
            "method": f"forecast {fc.method}" if fc else None, "method_version": None,
            "catalog_version": rt.catalog.digest, "feeds": feed}


def _task_rows(conn: Connection, rt: Runtime, p: Period,
               today: date) -> Iterator[dict[str, Any]]:
    warned: dict[tuple[str, str], list[str]] = {}
    for w in outlook.task_warnings(conn, rt.catalog, None, today).warnings:
        warned.setdefault((w.plan, w.task), []).append(w.kind)
    loaded = _catalog_loaded(conn, rt)
    page = reads.list_tasks(conn, today=today, limit=_MAX_TASKS)
    if page.total > _MAX_TASKS:
        raise DatasetError(f"more than {_MAX_TASKS} tasks: the task dataset needs paging")
    for t in page.items:
        plan = t["plan_number"]
        kinds = warned.get((plan, t["id"]), []) or warned.get((t["plan_key"], t["id"]), [])
        yield {"plan": plan, "task": t["id"], "section": t["section"], "title": t["title"],
               "lead": ";".join(u["code"] for u in t["units"].get("lead", [])),
               "deadline": t["deadline"], "deadline_kind": t["deadline_kind"],
               "today": today, "status": t["status"], "warnings": ";".join(kinds),
               "as_of": loaded, "method": "deadline status and task warnings",
               "method_version": None, "catalog_version": rt.catalog.digest, "feeds": None}


def _method_feeds(rt: Runtime, method: Method) -> str:
    feeds: set[str] = set()
    m = rt.catalog.measurement

    def walk(node: Node) -> None:
        if node.indicator and m is not None and node.indicator in m.indicators:
            feeds.add(m.indicators[node.indicator].feed)
        if node.data is not None:  # data accountability of the unit's records feeds
            feeds.update(_record_feeds(rt))
        for child in node.children:
            walk(child)

    for roots in method.kinds.values():
        for root in roots:
            walk(root)
    return ";".join(sorted(feeds))


def _score_rows(conn: Connection, rt: Runtime, p: Period,
                today: date) -> Iterator[dict[str, Any]]:
    methods = rt.catalog.methods
    if methods is None:
        return
    for code in sorted(methods.versions):
        try:
            method = methods.in_force(code, p.end)
        except KeyError:
            continue  # no version covers the period: the method did not exist then
        feeds = _method_feeds(rt, method)
        for kind in method.kinds:
            answer = scoring.ranking(rt, code, kind, p, today)
            for row in answer.units:
                yield {"kind": kind, "unit": row.unit, "unit_name": row.name,
                       "period": answer.period, "period_start": p.start, "period_end": p.end,
                       "rank": row.rank, "of": len(answer.units), "points": row.points,
                       "max_points": method.total, "missing": row.missing,
                       "provisional": answer.provisional, "stored": answer.stored,
                       "as_of": row.computed_at, "method": code,
                       "method_version": answer.version,
                       "catalog_version": rt.catalog.digest, "feeds": feeds}


def _indicator_feeds(rt: Runtime) -> list[str]:
    m = rt.catalog.measurement
    return sorted({i.feed for i in m.indicators.values()} if m else set())


def _record_feeds(rt: Runtime) -> list[str]:
    return [f for f in _indicator_feeds(rt) if not rt.catalog.contract(f).publishes_values]


def feeds_of(rt: Runtime, dataset_id: str) -> list[str]:
    """The feeds a dataset rests on: its data moves when one of them accepts a batch."""
    if dataset_id == INDICATOR_VALUES.id:
        return _indicator_feeds(rt)
    if dataset_id == TARGET_STATUS.id:
        m = rt.catalog.measurement
        return sorted({m.indicators[c].feed for pb in m.plans.values()
                       for b in pb.bindings.values() for c in b.indicators} if m else set())
    if dataset_id == ACCOUNTABILITY.id:
        return _record_feeds(rt)
    if dataset_id == TASK_PROGRESS.id:
        return []  # the catalog and task evidence, no feed
    methods = rt.catalog.methods
    feeds: set[str] = set()
    for versions in (methods.versions.values() if methods else []):
        for method in versions:
            feeds.update(f for f in _method_feeds(rt, method).split(";") if f)
    return sorted(feeds)


def _accountability_rows(conn: Connection, rt: Runtime, p: Period,
                         today: date) -> Iterator[dict[str, Any]]:
    record_feeds = _record_feeds(rt)
    got = quality.report(rt.engine, [rt.catalog.contract(f) for f in record_feeds], None,
                         "month", p.start.isoformat(), p.end.isoformat())
    as_of = {f: mv.feed_as_of(conn, f) for f in record_feeds}
    for r in got["rows"]:
        yield {"feed": r["feed"], "unit": r["unit"], "month": r["period"],
               "records": r["records"], "periods_due": r["periods_due"],
               "periods_met": r["periods_met"], "completeness": r["completeness"],
               "mean_delay_hours": r["mean_delay_hours"], "on_time_share": r["on_time_share"],
               "as_of": as_of[r["feed"]], "method": f"contract expectation of {r['feed']}",
               "method_version": None, "catalog_version": rt.catalog.digest,
               "feeds": r["feed"]}


_ROWS: dict[str, Callable[[Connection, Runtime, Period, date], Iterator[dict[str, Any]]]] = {
    INDICATOR_VALUES.id: _indicator_rows,
    TARGET_STATUS.id: _target_rows,
    TASK_PROGRESS.id: _task_rows,
    SCORES.id: _score_rows,
    ACCOUNTABILITY.id: _accountability_rows,
}


def table(rt: Runtime, dataset_id: str, period: str, today: date) -> Table:
    """The dataset's rows for ``period`` (empty: the current year), each with its provenance.

    ``last_modified`` is the newest as-of or change time among the rows, or the catalog's
    load time when no row has one (a dataset with no data yet changes with the catalog)."""
    dataset = get(dataset_id)
    p = _period(period, today)
    with rt.engine.connect() as conn:
        rows = list(_ROWS[dataset.id](conn, rt, p, today))
        newest = _latest(*(r.get("as_of") for r in rows), *(r.get("changed_at") for r in rows))
        last = newest if newest is not None else _catalog_loaded(conn, rt)
    return Table(dataset, p.label, rows, last)
