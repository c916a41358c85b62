"""An agency's export that names its columns in its own words (for the column-mapping tests)."""

from __future__ import annotations

from typing import Any

from chiso_sim.files import DOSSIER_HEADERS, dossier_csv

#: The contract's header -> the export's own heading: word order, abbreviations, a longer
#: wording, capitals without tone marks.
OWN_WORDS = {
    "Mã hồ sơ": "Hồ sơ số",
    "Mã thủ tục": "Mã TTHC",
    "Ngày tiếp nhận": "NGAY TN",
    "Số lần bổ sung": "Số lần yêu cầu bổ sung",
}
#: What chiso should propose for each of them.
EXPECTED = {"Hồ sơ số": "id", "Mã TTHC": "procedure", "NGAY TN": "received_at",
            "Số lần yêu cầu bổ sung": "supplement_requests"}
FIELDS = [f for f in DOSSIER_HEADERS if f not in ("applicant_name",)]


def own_words_csv(records: list[dict[str, Any]]) -> bytes:
    """The records as a CSV with a unit column, headed in the export's own words."""
    text = dossier_csv(records, fields=FIELDS).decode()
    head, _, rest = text.partition("\r\n\r\n")
    lines = rest.split("\r\n")
    for old, new in OWN_WORDS.items():
        lines[0] = lines[0].replace(old, new)
    return (head + "\r\n\r\n" + "\r\n".join(lines)).encode()


def full_mapping() -> dict[str, str]:
    """Every heading of the export -> its field, as a steward saves it."""
    own = {v: k for k, v in OWN_WORDS.items()}
    return {next((new for new, old in own.items() if old == DOSSIER_HEADERS[f]),
                 DOSSIER_HEADERS[f]): f for f in FIELDS}
