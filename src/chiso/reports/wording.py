"""A report in words: :func:`compose` turns a report's figures (:class:`ReportData`) into
the letter an official signs (header, number, place and date, subject, addressees, the four
sections of sentences and tables, signature and copies) in administrative Vietnamese or in
English. Every number goes through :mod:`chiso.numbers`; the writers only lay it out."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chiso.catalog.loader import Catalog
from chiso.numbers import amount, number, percent
from chiso.reports.content import RankTable, ReportData, TargetLine
from chiso.scoring.answers import RankingRow

Locale = Literal["vi", "en"]
# Statuses in the order a reader wants them: what needs action first.
STATUS_ORDER = ["chậm tiến độ", "có nguy cơ", "thiếu dữ liệu", "đúng tiến độ", "đạt"]
ROMAN = ["I", "II", "III", "IV", "V", "VI"]


class _Text(BaseModel):
    model_config = ConfigDict(frozen=True)


class Block(_Text):
    """A heading, a body paragraph, a list line or a table."""

    kind: Literal["heading", "subheading", "paragraph", "item", "table", "note"]
    text: str = ""
    columns: list[str] = Field(default_factory=list)
    rows: list[list[str]] = Field(default_factory=list)


class Letter(_Text):
    locale: Locale
    parent_body: str | None = Field(description="upper case, above the issuing body")
    issuing_body: str = Field(description="upper case, bold")
    number: str = Field(description="'Số:      /BC-SKHCN' (blank until issued)")
    place_date: str
    title: str
    subject: str
    addressees: list[str]
    blocks: list[Block]
    authority: str
    signer_title: str
    signer_name: str
    copies: list[str] = Field(description="'Nơi nhận' lines, the archive line last")


def _t(locale: Locale, vi: str, en: str) -> str:
    return vi if locale == "vi" else en


def place_date(day: date, locale: Locale) -> str:
    """'Hà Nội, ngày 05 tháng 01 năm 2027': days under 10 and months 1-2 take a leading 0."""
    if locale == "en":
        return f"Hanoi, {day.day} {day:%B} {day.year}"
    month = f"{day.month:02d}" if day.month <= 2 else str(day.month)
    return f"Hà Nội, ngày {day.day:02d} tháng {month} năm {day.year}"


def day_text(day: date, locale: Locale) -> str:
    return f"{day:%d/%m/%Y}" if locale == "vi" else f"{day.day} {day:%B} {day.year}"


def period_words(data: ReportData, locale: Locale) -> str:
    s = data.start
    match data.period_kind:
        case "month":
            return _t(locale, f"tháng {s.month} năm {s.year}", f"{s:%B} {s.year}")
        case "quarter":
            q = (s.month + 2) // 3
            return _t(locale, f"quý {ROMAN[q - 1]} năm {s.year}", f"Q{q} {s.year}")
        case "half":
            h = 1 if s.month == 1 else 2
            return _t(locale, f"{'6 tháng đầu' if h == 1 else '6 tháng cuối'} năm {s.year}",
                      f"{'first' if h == 1 else 'second'} half of {s.year}")
        case "year":
            return _t(locale, f"năm {s.year}", str(s.year))
        case "range" if (s.month, s.day, data.end.month, data.end.day) == (1, 1, 9, 30):
            return _t(locale, f"9 tháng đầu năm {s.year}", f"the first nine months of {s.year}")
    return f"{day_text(data.start, locale)}–{day_text(data.end, locale)}"


def _value(line: TargetLine, locale: Locale) -> str:
    o = line.outlook
    if o.latest is None:
        return "–"
    return amount(o.latest.value, o.unit_of_measure, locale)


def _forecast(line: TargetLine, locale: Locale) -> str:
    o = line.outlook
    if o.forecast is None or o.forecast.value is None:
        return "–"
    return amount(o.forecast.value, o.unit_of_measure, locale)


def _status(line: TargetLine, locale: Locale) -> str:
    o = line.outlook
    if o.status is None:
        return _t(locale, "chưa có nguồn dữ liệu", "no data source yet")
    return o.status if locale == "vi" else (o.status_en or o.status)


SIGNS = {">=": "≥", ">": ">", "<=": "≤", "<": "<", "=": "="}


def _threshold(line: TargetLine, locale: Locale) -> str:
    o = line.outlook
    if o.direction == "rank<=":  # a place in a ranking: 1 is best
        return _t(locale, "xếp hạng ≤ ", "rank ≤ ") + number(o.threshold, locale)
    return f"{SIGNS.get(o.direction, o.direction)} {amount(o.threshold, o.unit_of_measure, locale)}"


def _status_rank(line: TargetLine) -> int:
    s = line.outlook.status
    return STATUS_ORDER.index(s) if s in STATUS_ORDER else len(STATUS_ORDER)


def _targets(data: ReportData, locale: Locale) -> list[Block]:
    counts: dict[str, int] = defaultdict(int)
    for line in data.targets:
        counts[line.outlook.status or "none"] += 1
    parts = [f"{counts[s]} " + _t(locale, f"chỉ tiêu {s}", f"{_en_status(s)}")
             for s in STATUS_ORDER if counts[s]]
    if counts["none"]:
        parts.append(f"{counts['none']} " + _t(locale, "chỉ tiêu chưa có nguồn dữ liệu đo lường",
                                              "without a data source yet"))
    plans = ", ".join(data.plans)
    head = _t(locale,
              f"Theo Kế hoạch số {plans}, {data.unit_name_vi} theo dõi {len(data.targets)} chỉ "
              f"tiêu; tính đến hết ngày {day_text(data.as_of, locale)}: {'; '.join(parts)}.",
              f"Under plan {plans}, {data.unit_name_en} follows {len(data.targets)} targets; "
              f"as of the end of {day_text(data.as_of, locale)}: {'; '.join(parts)}.")
    blocks = [Block(kind="subheading", text=_t(locale, "1. Kết quả thực hiện các chỉ tiêu",
                                               "1. Targets")),
              Block(kind="paragraph", text=head)]
    ordered = sorted(data.targets, key=lambda x: (_status_rank(x), x.target))
    blocks.append(Block(kind="table", columns=[
        _t(locale, "Chỉ tiêu", "Target"), _t(locale, "Nội dung", "Threshold"),
        _t(locale, "Giá trị hiện tại", "Current value"), _t(locale, "Ngưỡng", "Threshold"),
        _t(locale, "Dự báo đến hạn", "Forecast at deadline"),
        _t(locale, "Tình trạng", "Status")],
        rows=[[x.target, x.text if locale == "vi" else x.measure_en, _value(x, locale),
               _threshold(x, locale), _forecast(x, locale), _status(x, locale)]
              for x in ordered]))
    for x in ordered:
        if x.outlook.sentence is not None and x.outlook.status != "thiếu dữ liệu":
            blocks.append(Block(kind="item", text=f"- {x.target}: " + (
                x.outlook.sentence.vi if locale == "vi" else x.outlook.sentence.en)))
    scarce = [x.target for x in ordered if x.outlook.status == "thiếu dữ liệu"]
    if scarce:
        blocks.append(Block(kind="item", text=_t(
            locale, f"- Chưa đủ dữ liệu để dự báo các chỉ tiêu: {', '.join(scarce)}.",
            f"- Too little data yet to forecast targets {', '.join(scarce)}.")))
    # how each value is bound to its data, and its caveats (the catalog's binding notes)
    noted = [x for x in ordered if x.outlook.note]
    if noted:
        blocks.append(Block(kind="item", text=_t(locale, "Ghi chú về cách đo các chỉ tiêu:",
                                                 "How the targets are measured:")))
        blocks += [Block(kind="item", text=f"- {x.target}: "
                         + _t(locale, x.outlook.note_vi or "", x.outlook.note or ""))
                   for x in noted]
    return blocks


def _en_status(status: str) -> str:
    return {"đạt": "met", "đúng tiến độ": "on track", "có nguy cơ": "at risk",
            "chậm tiến độ": "behind", "thiếu dữ liệu": "with too little data"}[status]


def _tasks(data: ReportData, locale: Locale) -> list[Block]:
    t = data.tasks
    text = _t(locale,
              f"Tổng số {number(t.tasks, locale)} nhiệm vụ, trong đó {number(t.dated, locale)} "
              f"nhiệm vụ có thời hạn cụ thể: đã hoàn thành {number(t.done, locale)} nhiệm vụ "
              f"(đúng hạn {number(t.done_on_time, locale)}, chậm {number(t.done_late, locale)}); "
              f"quá hạn chưa hoàn thành {number(t.overdue, locale)} nhiệm vụ; đang thực hiện, "
              f"chưa đến hạn {number(t.open, locale)} nhiệm vụ. Có {number(t.undated, locale)} "
              "nhiệm vụ thực hiện thường xuyên hoặc theo lộ trình.",
              f"{number(t.tasks, locale)} tasks in all, {number(t.dated, locale)} of them with "
              f"a date: {number(t.done, locale)} done ({number(t.done_on_time, locale)} on time,"
              f" {number(t.done_late, locale)} late); {number(t.overdue, locale)} overdue; "
              f"{number(t.open, locale)} under way and not yet due. "
              f"{number(t.undated, locale)} tasks are recurring or follow a schedule.")
    return [Block(kind="subheading", text=_t(locale, "2. Kết quả thực hiện nhiệm vụ",
                                             "2. Tasks")),
            Block(kind="paragraph", text=text)]


KIND_WORDS = {"department": ("sở, ban, ngành", "departments"),
              "agency": ("cơ quan, đơn vị", "agencies"), "commune": ("xã, phường", "communes")}


def _standings(data: ReportData, catalog: Catalog, locale: Locale) -> list[Block]:
    blocks = [Block(kind="subheading", text=_t(locale, "3. Đơn vị dẫn đầu và đơn vị chậm",
                                               "3. Units leading and lagging"))]
    methods = catalog.methods
    for s in data.standings:
        m = methods.in_force(s.method, data.as_of) if methods else None
        name = (m.name_vi if locale == "vi" else m.name_en) if m else s.method
        vi_kind, en_kind = KIND_WORDS.get(s.kind, (s.kind, s.kind))

        def listed(rows: list[RankingRow]) -> str:
            return "; ".join(f"{r.name} ({number(r.points, locale)} "
                             f"{_t(locale, 'điểm', 'points')})" for r in rows)

        if data.unit is not None:
            if not s.leading:
                continue
            r = s.leading[0]
            text = _t(locale,
                      f"Theo bộ chỉ số {name}, {data.unit_name_vi} xếp thứ {r.rank}/{s.of} "
                      f"{vi_kind} với {number(r.points, locale)} điểm.",
                      f"By the {name} index, {data.unit_name_en} ranks {r.rank} of {s.of} "
                      f"{en_kind} with {number(r.points, locale)} points.")
        else:
            text = _t(locale,
                      f"Theo bộ chỉ số {name}, các {vi_kind} dẫn đầu: {listed(s.leading)}. "
                      f"Các {vi_kind} có điểm thấp nhất: {listed(s.lagging)}.",
                      f"By the {name} index, the {en_kind} leading: {listed(s.leading)}. "
                      f"The {en_kind} lagging: {listed(s.lagging)}.")
        blocks.append(Block(kind="paragraph", text=text))
    return blocks


def _gaps(data: ReportData, catalog: Catalog, locale: Locale) -> list[Block]:
    blocks = [Block(kind="subheading", text=_t(
        locale, "4. Trách nhiệm cung cấp dữ liệu", "4. Data accountability"))]
    if not data.gaps:
        blocks.append(Block(kind="paragraph", text=_t(
            locale, "Trong kỳ, các luồng dữ liệu đã kết nối được gửi đầy đủ, đúng hạn.",
            "In the period, every connected feed arrived complete and on time.")))
        return blocks
    found = catalog.reports.get(data.kind)
    listed = found.accountability.listed if found else len(data.gaps)
    shown = data.gaps[:listed]
    n, k = number(len(data.gaps), locale), number(len(shown), locale)
    if len(shown) < len(data.gaps):  # the letter names the worst; the annex lists all
        text = _t(locale,
                  f"Có {n} trường hợp đơn vị gửi dữ liệu chưa đầy đủ hoặc chậm so với quy "
                  f"định; {k} trường hợp có mức đầy đủ thấp nhất nêu dưới đây, danh sách đầy "
                  f"đủ tại Phụ lục 03 (bảng tính kèm theo):",
                  f"{n} feeds of units arrived incomplete or late; the {k} least complete "
                  f"are below, every one is listed in Annex 03 (the attached workbook):")
    else:
        text = _t(locale,
                  f"Có {n} trường hợp đơn vị gửi dữ liệu chưa đầy đủ hoặc chậm so với quy "
                  "định:",
                  f"{n} feeds of units arrived incomplete or late:")
    blocks.append(Block(kind="paragraph", text=text))
    if not shown:
        return blocks

    def share(v: float | None) -> str:
        return "–" if v is None else percent(v * 100, locale)

    blocks.append(Block(kind="table", columns=[
        _t(locale, "Đơn vị", "Unit"), _t(locale, "Luồng dữ liệu", "Feed"),
        _t(locale, "Mức đầy đủ", "Completeness"), _t(locale, "Đúng hạn", "On time"),
        _t(locale, "Số bản ghi", "Records")],
        rows=[[g.unit_name, g.feed, share(g.completeness), share(g.on_time_share),
               number(g.records, locale)] for g in shown]))
    return blocks


def _rank_change(row: RankingRow, locale: Locale) -> str:
    if row.previous is None or row.rank_change is None:
        return _t(locale, "chưa có kỳ trước", "no previous period")
    if row.rank_change == 0:
        return _t(locale, "giữ nguyên", "unchanged")
    return (_t(locale, "tăng ", "up ") if row.rank_change > 0 else _t(locale, "giảm ", "down ")) \
        + number(abs(row.rank_change), locale)


def _movers(row: RankingRow, locale: Locale) -> str:
    if not row.explanation:
        return "–"
    return "; ".join(f"{m.name} ({'+' if m.delta > 0 else '−'}"
                     f"{number(abs(m.delta), locale)} {_t(locale, 'điểm', 'points')})"
                     for m in row.explanation)


def _rank_table(table: RankTable, data: ReportData, catalog: Catalog, locale: Locale,
                n: int) -> list[Block]:
    methods = catalog.methods
    m = methods.in_force(table.method, data.as_of) if methods else None
    name = (m.name_vi if locale == "vi" else m.name_en) if m else table.method
    vi_kind, en_kind = KIND_WORDS.get(table.kind, (table.kind, table.kind))
    head = _t(locale,
              f"{n}. {name} (phiên bản {table.version}"
              f"{', tạm thời' if table.provisional else ''}): {number(len(table.rows), locale)}"
              f" {vi_kind}",
              f"{n}. {name} (version {table.version}"
              f"{', provisional' if table.provisional else ''}): "
              f"{number(len(table.rows), locale)} {en_kind}")
    blocks = [Block(kind="subheading", text=head)]
    if not table.rows:
        blocks.append(Block(kind="paragraph", text=_t(
            locale, "Chưa có đơn vị được chấm điểm trong kỳ.", "No unit was scored in the "
            "period.")))
        return blocks
    up = sorted((r for r in table.rows if (r.rank_change or 0) > 0),
                key=lambda r: (-(r.rank_change or 0), r.rank))
    down = sorted((r for r in table.rows if (r.rank_change or 0) < 0),
                  key=lambda r: ((r.rank_change or 0), r.rank))
    lead = table.rows[0]
    text = _t(locale,
              f"Dẫn đầu là {lead.name} với {number(lead.points, locale)} điểm. So với kỳ "
              f"trước, {number(len(up), locale)} đơn vị tăng hạng, "
              f"{number(len(down), locale)} đơn vị giảm hạng.",
              f"{lead.name} leads with {number(lead.points, locale)} points. Since the "
              f"previous period, {number(len(up), locale)} units rose and "
              f"{number(len(down), locale)} fell.")
    blocks.append(Block(kind="paragraph", text=text))
    blocks.append(Block(kind="table", columns=[
        _t(locale, "Hạng", "Rank"), _t(locale, "Đơn vị", "Unit"), _t(locale, "Điểm", "Points"),
        _t(locale, "Thay đổi hạng", "Change of rank"),
        _t(locale, "Tiêu chí tác động", "Criteria that moved it")],
        rows=[[number(r.rank, locale), r.name, number(r.points, locale),
               _rank_change(r, locale), _movers(r, locale)] for r in table.rows]))
    return blocks


def _rankings(data: ReportData, catalog: Catalog, locale: Locale) -> list[Block]:
    blocks: list[Block] = []
    for i, table in enumerate(data.rankings, start=1):
        blocks += _rank_table(table, data, catalog, locale, i)
    if not blocks:
        blocks.append(Block(kind="paragraph", text=_t(
            locale, "Chưa có kết quả chấm điểm trong kỳ.", "No scores in the period.")))
    return blocks


def _shortcomings(data: ReportData, locale: Locale) -> list[Block]:
    blocks: list[Block] = []
    flagged = [x for x in data.targets if x.outlook.flagged]
    for x in sorted(flagged, key=lambda x: (_status_rank(x), x.target)):
        said = x.outlook.sentence
        text = (said.vi if locale == "vi" else said.en) if said else _status(x, locale)
        blocks.append(Block(kind="item", text=f"- {_t(locale, 'Chỉ tiêu', 'Target')} "
                                              f"{x.target}: {text}"))
    by_lead: dict[str, list[str]] = defaultdict(list)
    for o in data.overdue:
        lead = ", ".join(o.lead) or _t(locale, "chưa xác định đơn vị chủ trì", "no lead named")
        by_lead[lead].append(_t(
            locale, f"nhiệm vụ {o.task} «{o.title}» quá hạn {number(o.days, locale)} ngày "
            f"(hạn {day_text(o.due, locale)})",
            f"task {o.task} “{o.title}” overdue by {number(o.days, locale)} days "
            f"(due {day_text(o.due, locale)})"))
    for lead in sorted(by_lead):
        blocks.append(Block(kind="item", text=f"- {lead}: " + "; ".join(by_lead[lead]) + "."))
    if not blocks:
        blocks.append(Block(kind="paragraph", text=_t(
            locale, "Trong kỳ không có chỉ tiêu có nguy cơ không đạt hoặc nhiệm vụ quá hạn.",
            "No target is at risk or behind and no task is overdue.")))
    return blocks


def _next(data: ReportData, locale: Locale) -> list[Block]:
    items = data.tasks.due_next
    span = f"{day_text(data.next_start, locale)}–{day_text(data.next_end, locale)}"
    if not items:
        return [Block(kind="paragraph", text=_t(
            locale, f"Không có nhiệm vụ hoặc mốc đến hạn trong kỳ tới ({span}).",
            f"No task or milestone falls due next period ({span})."))]
    blocks = [Block(kind="paragraph", text=_t(
        locale, f"Trong kỳ tới ({span}), có {number(len(items), locale)} nhiệm vụ, mốc công "
        "việc đến hạn cần tập trung chỉ đạo:",
        f"Next period ({span}), {number(len(items), locale)} tasks and milestones fall due:"))]
    for d in items:
        what = d.title if d.milestone is None else f"{d.title}: {d.milestone}"
        lead = ", ".join(d.lead)
        blocks.append(Block(kind="item", text=_t(
            locale, f"- {d.task}. {what} (hạn {day_text(d.due, locale)}; chủ trì: {lead}).",
            f"- {d.task}. {what} (due {day_text(d.due, locale)}; lead: {lead}).")))
    return blocks


def _share(value: float | None, locale: Locale) -> str:
    return "—" if value is None else percent(value, locale)


def _sme(data: ReportData, locale: Locale) -> list[Block]:
    """The SME programme's questions (plan 232): enterprises against this year's milestone,
    the results of support, the sectors and communes behind, the exemplary SMEs by sector."""
    p = data.sme
    if p is None:
        return []
    since = day_text(p.since, locale)
    head = _t(locale,
              f"Từ ngày {since} đến hết ngày {day_text(p.today, locale)}, "
              f"{number(p.supported, locale)} doanh nghiệp nhỏ và vừa đã được hỗ trợ chuyển đổi "
              f"số (mỗi doanh nghiệp tính một lần), trong đó "
              f"{number(p.supported_this_year, locale)} doanh nghiệp được hỗ trợ trong năm "
              f"{p.today.year}.",
              f"From {since} to the end of {day_text(p.today, locale)}, "
              f"{number(p.supported, locale)} SMEs were supported in digital transformation "
              f"(each counted once), {number(p.supported_this_year, locale)} of them in "
              f"{p.today.year}.")
    blocks = [Block(kind="paragraph", text=head)]
    if p.milestone is not None:
        source = (_t(locale, "do cơ quan vận hành đặt", "set by the operator")
                  if p.milestone.source == "operator"
                  else _t(locale, "mặc định theo tuyến tính", "linear by default"))
        reached = (_t(locale, f", đạt {_share(p.milestone_progress, locale)}",
                      f", {_share(p.milestone_progress, locale)} reached")
                   if p.milestone_progress is not None else "")
        blocks.append(Block(kind="paragraph", text=_t(
            locale, f"Mốc năm {p.milestone.year}: {number(p.milestone.value, locale, 0)} doanh "
            f"nghiệp ({source}){reached}.",
            f"Milestone {p.milestone.year}: {number(p.milestone.value, locale, 0)} enterprises "
            f"({source}){reached}.")))
    r, a = p.this_year, p.since_start
    blocks.append(Block(kind="subheading", text=_t(locale, "Kết quả hỗ trợ tại doanh nghiệp",
                                                   "Results at the enterprises")))
    blocks.append(Block(kind="table", columns=[
        _t(locale, "Nội dung", "Item"), _t(locale, f"Năm {p.today.year}", str(p.today.year)),
        _t(locale, f"Từ {since}", f"Since {since}")], rows=[
        [_t(locale, "Doanh nghiệp được đánh giá trước và sau hỗ trợ",
            "Enterprises assessed before and after support"),
         number(r.assessed, locale), number(a.assessed, locale)],
        [_t(locale, "Trong đó nâng được mức độ sẵn sàng", "of which readiness level raised"),
         f"{number(r.readiness_raised, locale)} ({_share(r.raised_rate, locale)})",
         f"{number(a.readiness_raised, locale)} ({_share(a.raised_rate, locale)})"],
        [_t(locale, "Doanh nghiệp ứng dụng giải pháp công nghệ số",
            "Enterprises applying digital solutions"),
         number(r.applying_digital, locale), number(a.applying_digital, locale)],
        [_t(locale, "Hợp đồng ký giữa doanh nghiệp công nghệ số và DNNVV",
            "Contracts between digital-technology firms and SMEs"),
         number(r.contracts, locale), number(a.contracts, locale)]]))
    ratio = percent(p.plan_ratio, locale, 0)
    blocks.append(Block(kind="subheading", text=_t(locale, "Theo ngành kinh tế", "By sector")))
    if p.sectors:
        blocks.append(Block(kind="table", columns=[
            _t(locale, "Ngành", "Sector"), _t(locale, "Được hỗ trợ", "Supported"),
            _t(locale, "Ứng dụng giải pháp số", "Applying digital solutions"),
            _t(locale, "Nâng mức sẵn sàng", "Readiness raised"),
            _t(locale, "Hợp đồng", "Contracts"), _t(locale, "Tiêu biểu", "Exemplary")],
            rows=[[f"{s.code}. {s.name.vi if locale == 'vi' else s.name.en}",
                   number(s.supported, locale),
                   f"{number(s.applying_digital, locale)} ({_share(s.applying_rate, locale)})",
                   number(s.readiness_raised, locale), number(s.contracts, locale),
                   number(s.exemplary, locale)] for s in p.sectors]))
    slow = p.lagging_sectors
    blocks.append(Block(kind="paragraph", text=_t(
        locale, f"Các ngành có tỷ lệ doanh nghiệp ứng dụng giải pháp số thấp hơn tỷ lệ của kế "
        f"hoạch ({ratio}): " + (", ".join(f"{s.code}. {s.name.vi}" for s in slow) or "không có")
        + ".",
        f"Sectors where fewer supported enterprises apply digital solutions than the plan's "
        f"ratio ({ratio}): " + (", ".join(f"{s.code}. {s.name.en}" for s in slow) or "none")
        + ".")))
    if data.scope == "city" and p.milestone is not None:
        behind = p.lagging_communes
        shown = ", ".join(f"{c.name} ({number(c.supported, locale)})" for c in behind[:10])
        blocks.append(Block(kind="paragraph", text=_t(
            locale, f"{number(len(behind), locale)}/{number(len(p.communes), locale)} xã, "
            f"phường chưa đạt phần mốc năm {p.milestone.year} của mình (mốc của Thành phố chia "
            f"đều); chậm nhất: {shown or 'không có'}.",
            f"{number(len(behind), locale)} of {number(len(p.communes), locale)} communes are "
            f"behind their share of the {p.milestone.year} milestone (the City's milestone "
            f"divided equally); furthest behind: {shown or 'none'}.")))
    exemplary = [s for s in p.sectors if s.exemplary]
    listed = ", ".join(f"{s.code}. {s.name.vi if locale == 'vi' else s.name.en} "
                       f"({number(s.exemplary, locale)})" for s in exemplary)
    blocks.append(Block(kind="paragraph", text=_t(
        locale, "Doanh nghiệp nhỏ và vừa tiêu biểu về chuyển đổi số theo ngành: "
        + (listed or "chưa có doanh nghiệp được công nhận") + ".",
        "Exemplary SMEs in digital transformation by sector: "
        + (listed or "none recognised yet") + ".")))
    return blocks


def compose(data: ReportData, catalog: Catalog, locale: Locale, issued: date, *,
            number: str | None = None, signer: str = "", proposals: str | None = None
            ) -> Letter:
    """The report ``data`` as a letter in ``locale``, dated ``issued``; ``number`` (the
    register number, blank until issued), ``signer`` and the operator's ``proposals`` (one
    paragraph a line) fill what people write."""
    kind = catalog.reports[data.kind]
    scope = kind.scopes[data.scope]  # type: ignore[index]
    units = catalog.units.units
    issuer = units[scope.issuer] if scope.issuer else units[data.unit or ""]
    parent = units.get(issuer.parent) if issuer.parent and data.scope != "commune" else None
    code = issuer.code
    body = issuer.name.upper() if data.scope != "commune" else \
        f"ỦY BAN NHÂN DÂN {issuer.name.upper()}"
    period = period_words(data, locale)
    subject = (kind.subject_vi.format(period_vi=period) if locale == "vi"
               else kind.subject_en.format(period_en=period))
    names = {"results": ("KẾT QUẢ THỰC HIỆN", "RESULTS"),
             "shortcomings": ("TỒN TẠI, HẠN CHẾ", "SHORTCOMINGS"),
             "next_period": ("NHIỆM VỤ TRỌNG TÂM KỲ TỚI", "PRIORITIES FOR NEXT PERIOD"),
             "proposals": ("ĐỀ XUẤT, KIẾN NGHỊ", "PROPOSALS"),
             "rankings": ("KẾT QUẢ ĐÁNH GIÁ, XẾP HẠNG", "ASSESSMENT AND RANKING"),
             "sme_programme": ("KẾT QUẢ HỖ TRỢ DOANH NGHIỆP NHỎ VÀ VỪA CHUYỂN ĐỔI SỐ",
                               "SUPPORT TO SMEs AND ITS RESULTS")}
    blocks: list[Block] = []
    for i, section in enumerate(kind.sections):
        vi, en = names[section]
        blocks.append(Block(kind="heading", text=f"{ROMAN[i]}. {_t(locale, vi, en)}"))
        match section:
            case "results":
                blocks += _targets(data, locale) + _tasks(data, locale) + \
                    _standings(data, catalog, locale) + _gaps(data, catalog, locale)
            case "shortcomings":
                blocks += _shortcomings(data, locale)
            case "next_period":
                blocks += _next(data, locale)
            case "rankings":
                blocks += _rankings(data, catalog, locale)
            case "sme_programme":
                blocks += _sme(data, locale)
            case "proposals" if proposals and proposals.strip():
                blocks += [Block(kind="paragraph", text=line.strip())
                           for line in proposals.splitlines() if line.strip()]
            case "proposals":
                blocks.append(Block(kind="note", text=_t(
                    locale, "(Phần này do đơn vị soạn thảo bổ sung trước khi ban hành.)",
                    "(To be written by the issuing office before the report is issued.)")))
    addressees = [units[a].name for a in scope.addressees] if locale == "vi" else \
        [units[a].name_en for a in scope.addressees]
    blocks.append(Block(kind="paragraph", text=_t(
        locale, f"Trên đây là báo cáo {subject[0].lower() + subject[1:]} của {issuer.name}, "
        f"kính báo cáo {', '.join(addressees)}./.",
        f"This is the report of {issuer.name_en} on the "
        f"{subject[0].lower() + subject[1:]}, for {', '.join(addressees)}.")))
    return Letter(
        locale=locale,
        parent_body=parent.name.upper() if parent else None, issuing_body=body,
        number=_t(locale, "Số: ", "No.: ") + (number.strip() if number else "      ")
        + "/" + scope.number_suffix.format(code=code),
        place_date=place_date(issued, locale), title=_t(locale, "BÁO CÁO", "REPORT"),
        subject=subject, addressees=addressees, blocks=blocks,
        authority=scope.signature.authority, signer_title=scope.signature.title,
        signer_name=signer,
        copies=[f"- {_t(locale, c, 'As above') if c == 'Như trên' else c};"
                for c in scope.copies] + [f"- {_t(locale, 'Lưu', 'Filed')}: {scope.archive}."])
