from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from tests.factories import default_catalog, feed_contract

from chiso.catalog.errors import CatalogError
from chiso.catalog.feeds import load_contract
from chiso.catalog.loader import DEFAULT_DATA_DIR, load_catalog
from chiso.store.tables import FEED_TABLES
from chiso.text import fold

SPEC_FEEDS = {"tthc.dossier", "ihanoi.feedback", "eoffice.document", "meetings.meeting",
              "stats.value", "sme.support", "sme.consultant", "sme.exemplary", "stats.grdp"}


def test_the_feeds_of_the_spec_are_contracts() -> None:
    assert set(default_catalog().feeds) == SPEC_FEEDS


@pytest.mark.parametrize("feed", sorted(SPEC_FEEDS))
def test_contract_fields_are_the_typed_columns_of_its_tables(feed: str) -> None:
    contract = feed_contract(feed)
    latest, versions = FEED_TABLES[feed]
    provenance = {"source", "record_id", "door", "batch_id", "ingested_at", "manual"}
    assert {c.name for c in latest.columns} - provenance == set(contract.fields)
    assert {c.name for c in versions.columns} == {c.name for c in latest.columns}
    assert contract.version in {c.name for c in versions.primary_key}


def test_spec_fields_and_rules_are_present() -> None:
    dossier = feed_contract("tthc.dossier")
    assert dossier.fields["status"].enum == ["received", "processing", "supplement",
                                             "resolved", "rejected", "withdrawn"]
    assert dossier.fields["supplement_requests"].min == 0
    assert {"applicant_name", "applicant_id", "applicant_phone"} == set(dossier.personal_fields)
    assert any(r.left == "components_reused" and r.op == "<=" for r in dossier.rules)
    assert feed_contract("stats.value").key == ["indicator", "unit", "period"]


def test_sme_contracts_pseudonymise_the_tax_code_and_read_vietnamese_headers() -> None:
    support = feed_contract("sme.support")
    assert support.personal_fields == ["tax_code"]
    assert feed_contract("sme.exemplary").personal_fields == ["tax_code"]
    assert feed_contract("sme.consultant").personal_fields == []
    headers = support.header_map()
    assert headers["ma so thue"] == "tax_code"
    assert headers["hinh thuc ho tro"] == "kind"
    assert headers["muc do san sang sau ho tro"] == "readiness_after"
    assert support.fields["kind"].labels["solution_application"]


def test_header_map_ignores_tone_marks_and_case() -> None:
    headers = feed_contract("tthc.dossier").header_map()
    assert headers["ngay tiep nhan"] == "received_at"
    assert headers["so lan bo sung"] == "supplement_requests"


def _write(tmp_path: Path, feed: str, mutate: object) -> Path:
    data = yaml.safe_load((Path(__file__).parents[2] / "src/chiso/data/feeds" /
                           f"{feed}.yaml").read_text(encoding="utf-8"))
    assert callable(mutate)
    mutate(data)
    path = tmp_path / f"{data['feed']}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d["rules"].append({"left": "nope", "op": "<=", "right": "id", "message": "x",
                                  "message_vi": "x"}),
     "unknown field 'nope'"),
    (lambda d: d["rules"].append({"left": "id", "op": "<=", "right": "id", "message": "x"}),
     "message_vi"),  # a rule's message is said in Vietnamese too
    (lambda d: d.update(version="procedure"), "version field must be a datetime"),
    (lambda d: d["fields"]["supplement_requests"].update(min=5, max=1), "min is greater"),
    (lambda d: d["fields"]["status"].update(typo=True), "Extra inputs"),
    (lambda d: d["fields"]["procedure"]["headers"].append("Ngày tiếp nhận"), "maps to both"),
])
def test_a_broken_contract_is_refused_naming_the_problem(
    tmp_path: Path, mutate: object, message: str
) -> None:
    with pytest.raises(CatalogError, match=message):
        load_contract(_write(tmp_path, "tthc.dossier", mutate))


def test_contracts_are_read_from_the_configured_data_dir(tmp_path: Path) -> None:
    """The catalog reads the feed contracts of the data directory it is given, once: a header
    added there is what intake's file door maps (no second copy from the package)."""
    data = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, data)
    path = data / "feeds" / "tthc.dossier.yaml"
    contract = yaml.safe_load(path.read_text(encoding="utf-8"))
    contract["fields"]["procedure"]["headers"].append("Mã TTHC (theo CSDL quốc gia)")
    path.write_text(yaml.safe_dump(contract, allow_unicode=True), encoding="utf-8")
    catalog = load_catalog(data)
    header_map = catalog.contract("tthc.dossier").header_map()
    assert header_map[fold("Mã TTHC (theo CSDL quốc gia)")] == "procedure"
    assert catalog.measurement is not None
    assert catalog.measurement.contracts["tthc.dossier"] is catalog.contract("tthc.dossier")
    with pytest.raises(KeyError, match="unknown feed 'nope'; known feeds: "):
        catalog.contract("nope")
