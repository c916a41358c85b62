"""Every verbatim field of every catalog item is found on the seed line(s) it cites."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from chiso.catalog.fidelity import found_in, normalise
from chiso.catalog.loader import Catalog
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
    source = normalise(
        "10\t3\tTiếp tục mở rộng kênh tiếp nhận phản ánh kiến nghị\tTrung tâm\n"
        "Stt\tTên nhóm nhiệm vụ\n\tcủa nhà đầu tư, doanh nghiệp về hoạt động đầu tư"
    )
    assert found_in("Tiếp tục mở rộng kênh tiếp nhận phản ánh kiến nghị của nhà đầu tư, "
                    "doanh nghiệp về hoạt động đầu tư", source)


def test_markup_is_dropped_and_tex_is_read() -> None:
    assert normalise("**100%** cơ quan") == "100% cơ quan"
    assert normalise("“ <i>dùng trước - trả sau</i> ” <5%") == "“ dùng trước - trả sau ” <5%"
    assert normalise(r"Cảnh báo sớm $\geq 90\%$ nguy cơ") == "Cảnh báo sớm ≥ 90% nguy cơ"
