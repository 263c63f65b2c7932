"""Keep the English catalogue in step with the Chinese source strings: extract, update, report what is missing."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "app" / "translations"
POT = TRANSLATIONS / "messages.pot"
EN_PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"


def main() -> int:
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run([pybabel, "-q", "extract", "-F", TRANSLATIONS / "babel.cfg", "-k", "_l", "-k", "N_",
                    "--no-location", "-o", POT, ROOT / "app"], check=True)
    if EN_PO.exists():
        subprocess.run([pybabel, "-q", "update", "--no-fuzzy-matching", "-i", POT, "-d", TRANSLATIONS],
                       check=True)
    else:
        subprocess.run([pybabel, "-q", "init", "-i", POT, "-d", TRANSLATIONS, "-l", "en"], check=True)
    from babel.messages.pofile import read_po

    with EN_PO.open("rb") as fh:
        missing = [m.id for m in read_po(fh) if m.id and not m.string]
    for msgid in missing:
        print(f"untranslated: {msgid}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
