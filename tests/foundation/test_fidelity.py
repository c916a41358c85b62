"""Every verbatim field of every catalog item is found on the seed line(s) it cites."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from chiso.catalog.fidelity import found_in, normalise
from chiso.catalog.loader import Catalog
from chiso.catalog.models import Direction
from chiso.cli import app


def test_every_item_is_faithful_to_its_seed_lines(catalog: Catalog, seeds_dir: Path) -> None:
    from chiso.catalog.fidelity import check_fidelity

    mismatches = [str(m) for m in check_fidelity(catalog, seeds_dir)]
    assert mismatches == []


def test_check_with_seeds_passes_from_the_cli(seeds_dir: Path) -> None:
    result = CliRunner().invoke(app, ["catalog", "check", "--seeds", str(seeds_dir)])
    assert result.exit_code == 0, result.output


def test_a_changed_word_is_not_found() -> None:
    source = normalise("Tỷ lệ hồ sơ xử lý trước hạn, đúng hạn đạt ≥ 98% .")
    assert found_in("Tỷ lệ hồ sơ xử lý trước hạn, đúng hạn đạt ≥ 98% .", source)
    assert not found_in("Tỷ lệ hồ sơ xử lý trước hạn, đúng hạn đạt ≥ 95% .", source)
    assert not found_in("Tỷ lệ hồ sơ xử lý trước hạn đúng hạn", source)  # a comma dropped


def test_a_cell_split_by_a_page_break_is_found_in_pieces() -> None:
    raw = ("10\t3\tTiếp tục mở rộng kênh tiếp nhận phản ánh kiến nghị\tTrung tâm\n"
           "Stt\tTên nhóm nhiệm vụ\n\tcủa nhà đầu tư, doanh nghiệp về hoạt động đầu tư")
    source = normalise(raw)
    cells = [normalise(c) for line in raw.split("\n") for c in line.split("\t") if c]
    value = ("Tiếp tục mở rộng kênh tiếp nhận phản ánh kiến nghị của nhà đầu tư, "
             "doanh nghiệp về hoạt động đầu tư")
    assert found_in(value, source, cells)
    assert not found_in(value, source)  # without the cells, only a whole match counts


def test_a_clause_dropped_from_the_middle_is_caught() -> None:
    raw = "7\tTăng cường kết nối, chia sẻ dữ liệu giữa các hệ thống thông tin của Thành phố\tSở"
    source = normalise(raw)
    cells = [normalise(c) for c in raw.split("\t")]
    # two long pieces, both on the line, but the gap is inside one cell
    assert not found_in("Tăng cường kết nối, chia sẻ dữ liệu của Thành phố", source, cells)


def test_markup_is_dropped_and_tex_is_read() -> None:
    assert normalise("**100%** cơ quan") == "100% cơ quan"
    assert normalise("“ <i>dùng trước - trả sau</i> ” <5%") == "“ dùng trước - trả sau ” <5%"
    assert normalise(r"Cảnh báo sớm $\geq 90\%$ nguy cơ") == "Cảnh báo sớm ≥ 90% nguy cơ"


# --- deliberately damaged copies of real items ------------------------------------------------


def _problems(catalog: Catalog, seeds_dir: Path, plan: str, item_id: str,
              **damage: object) -> dict[str, str]:
    from chiso.catalog.fidelity import SeedLines, check_item, expected_columns

    entry = catalog.plans[plan]
    seeds = SeedLines(seeds_dir)
    item = next(x for x in [*entry.targets, *entry.tasks] if x.id == item_id)
    assert list(check_item(entry, item, seeds, expected_columns(entry, seeds))) == []
    bad = item.model_copy(update=damage)
    return {m.field: m.value for m in check_item(entry, bad, seeds,
                                                  expected_columns(entry, seeds))}


PLAN = "131/KH-UBND"


def test_damaged_text_threshold_direction_and_unit_are_caught(catalog: Catalog,
                                                              seeds_dir: Path) -> None:
    i1 = next(t for t in catalog.plans[PLAN].targets if t.id == "I.1")
    clipped = i1.text.replace("(sử dụng AI dùng chung của Thành phố sau khi hoàn thành) ", "")
    assert clipped != i1.text
    assert "text" in _problems(catalog, seeds_dir, PLAN, "I.1", text=clipped)
    assert "threshold" in _problems(catalog, seeds_dir, PLAN, "I.11", threshold=Decimal(95))
    assert "threshold_high" in _problems(catalog, seeds_dir, PLAN, "II.13",
                                         threshold_high=Decimal(9))
    assert "direction" in _problems(catalog, seeds_dir, PLAN, "I.12", direction=Direction.ge)
    assert "direction" in _problems(catalog, seeds_dir, PLAN, "II.3a", direction=Direction.ge)
    assert "direction" in _problems(catalog, seeds_dir, PLAN, "I.6b", direction=Direction.ge)
    assert "unit_of_measure" in _problems(catalog, seeds_dir, PLAN, "I.11",
                                          unit_of_measure="hồ sơ")
    assert "unit_of_measure" in _problems(catalog, seeds_dir, PLAN, "I.6b",
                                          unit_of_measure="%")
    assert "unit_of_measure" in _problems(catalog, seeds_dir, PLAN, "II.12a",
                                          unit_of_measure="chiến dịch")


def test_an_agency_in_the_wrong_column_is_caught(catalog: Catalog, seeds_dir: Path) -> None:
    iii7 = next(t for t in catalog.plans[PLAN].targets if t.id == "III.7")
    swapped = _problems(catalog, seeds_dir, PLAN, "III.7", implementing=iii7.coordinating,
                        coordinating=iii7.implementing)
    assert {"implementing", "coordinating"} <= swapped.keys()
    task = next(t for t in catalog.plans[PLAN].tasks if t.id == "PL02.15")
    moved = _problems(catalog, seeds_dir, PLAN, "PL02.15", lead=task.coordinating[:1],
                      coordinating=task.lead + task.coordinating[1:])
    assert "lead" in moved
