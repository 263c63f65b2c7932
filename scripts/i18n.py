"""Keep the English catalogue in step with the Chinese source strings.

`python scripts/i18n.py` extracts the strings, updates app/translations/en and lists what is untranslated;
`--check` changes nothing and fails when a source string has no English translation.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "app" / "translations"
EN_PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
PYBABEL = Path(sys.executable).with_name("pybabel")


def extract(pot: Path) -> None:
    subprocess.run([PYBABEL, "-q", "extract", "-F", TRANSLATIONS / "babel.cfg", "-k", "_l", "-k", "N_",
                    "--no-location", "-o", pot, ROOT / "app"], check=True)


def untranslated(pot: Path) -> list[str]:
    with EN_PO.open("rb") as fh:
        english = {m.id: m.string for m in read_po(fh) if m.id}
    with pot.open("rb") as fh:
        return [m.id for m in read_po(fh) if m.id and not english.get(m.id)]


def main(check: bool) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        pot = Path(tmp) / "messages.pot"
        extract(pot)
        if not check:
            subprocess.run([PYBABEL, "-q", "update", "--no-fuzzy-matching", "-w", "120", "-i", pot, "-d", TRANSLATIONS],
                           check=True)
        missing = untranslated(pot)
    for msgid in missing:
        print(f"untranslated: {msgid}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(check="--check" in sys.argv[1:]))
