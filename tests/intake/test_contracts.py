from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from chiso.intake.contracts import ContractError, contracts, get_contract, load_contract
from chiso.store.tables import FEED_TABLES

SPEC_FEEDS = {"tthc.dossier", "ihanoi.feedback", "eoffice.document", "meetings.meeting",
              "stats.value", "sme.support", "sme.consultant", "sme.exemplary", "stats.grdp"}


def test_the_feeds_of_the_spec_are_contracts() -> None:
    assert set(contracts()) == SPEC_FEEDS


@pytest.mark.parametrize("feed", sorted(SPEC_FEEDS))
def test_contract_fields_are_the_typed_columns_of_its_tables(feed: str) -> None:
    contract = get_contract(feed)
    latest, versions = FEED_TABLES[feed]
    provenance = {"source", "record_id", "door", "batch_id", "ingested_at", "manual"}
    assert {c.name for c in latest.columns} - provenance == set(contract.fields)
    assert {c.name for c in versions.columns} == {c.name for c in latest.columns}
    assert contract.version in {c.name for c in versions.primary_key}


def test_spec_fields_and_rules_are_present() -> None:
    dossier = get_contract("tthc.dossier")
    assert dossier.fields["status"].enum == ["received", "processing", "supplement",
                                             "resolved", "rejected", "withdrawn"]
    assert dossier.fields["supplement_requests"].min == 0
    assert {"applicant_name", "applicant_id", "applicant_phone"} == set(dossier.personal_fields)
    assert any(r.left == "components_reused" and r.op == "<=" for r in dossier.rules)
    assert get_contract("stats.value").key == ["indicator", "unit", "period"]


def test_sme_contracts_pseudonymise_the_tax_code_and_read_vietnamese_headers() -> None:
    support = get_contract("sme.support")
    assert support.personal_fields == ["tax_code"]
    assert get_contract("sme.exemplary").personal_fields == ["tax_code"]
    assert get_contract("sme.consultant").personal_fields == []
    headers = support.header_map()
    assert headers["ma so thue"] == "tax_code"
    assert headers["hinh thuc ho tro"] == "kind"
    assert headers["muc do san sang sau ho tro"] == "readiness_after"
    assert support.fields["kind"].labels["solution_application"]


def test_header_map_ignores_tone_marks_and_case() -> None:
    headers = get_contract("tthc.dossier").header_map()
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
    (lambda d: d["rules"].append({"left": "nope", "op": "<=", "right": "id", "message": "x"}),
     "unknown field 'nope'"),
    (lambda d: d.update(version="procedure"), "version field must be a datetime"),
    (lambda d: d["fields"]["supplement_requests"].update(min=5, max=1), "min is greater"),
    (lambda d: d["fields"]["status"].update(typo=True), "Extra inputs"),
    (lambda d: d["fields"]["procedure"]["headers"].append("Ngày tiếp nhận"), "maps to both"),
])
def test_a_broken_contract_is_refused_naming_the_problem(
    tmp_path: Path, mutate: object, message: str
) -> None:
    with pytest.raises(ContractError, match=message):
        load_contract(_write(tmp_path, "tthc.dossier", mutate))
