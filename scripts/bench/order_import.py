"""Order import benchmark: time and peak memory of a whole console import of a large CSV and .xlsx, and the time of
a view of the mapping page once the file is read.

    .venv/bin/python -m scripts.bench.order_import --rows 1000000 --runs 3 [--server postgresql+psycopg://...]

Each run is its own process (so its peak RSS is its own) on a fresh database (SQLite in /tmp, or a scratch
PostgreSQL database with --server): a signed-in operator uploads the file through the real route, the import reads
it in a job (run here, as the worker would), the mapping page is viewed 5 times, the proposed mapping is confirmed
and the import checks and stores every row. Printed per format: the median over the runs of each step and of the
peak RSS. The generated files are cached in /tmp (same rows: same files).
"""
from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from scripts.bench.common import ROOT

CACHE = Path(tempfile.gettempdir()) / "scrm-bench-orders"
HEADER = ("订单号", "客户ID", "金额", "支付时间", "状态", "品类")
STATUSES = ("已支付",) * 8 + ("已退款", "交易关闭")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _row(i: int) -> tuple:
    return (f"B{i:09d}", f"wm{i % 200_000:08d}", f"{(i * 7919) % 200_000 / 100:.2f}",
            f"2026-{1 + i % 12:02d}-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}", STATUSES[i % 10], "茶叶")


def order_file(rows: int, suffix: str) -> Path:
    """A shop export of `rows` orders with Chinese headers and status words, cached."""
    path = CACHE / f"orders-{rows}{suffix}"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    if suffix == ".csv":
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(",".join(HEADER) + "\n")
            fh.writelines(",".join(_row(i)) + "\n" for i in range(rows))
    else:
        _write_xlsx(tmp, rows)
    tmp.rename(path)
    return path


def _write_xlsx(path: Path, rows: int) -> None:
    """An .xlsx as Excel writes a shop export: text in the shared strings table, amounts as numbers."""
    main = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    strings: dict[str, int] = {}

    def cell(column: str, line: int, value) -> str:
        if isinstance(value, float):
            return f'<c r="{column}{line}"><v>{value!r}</v></c>'
        index = strings.setdefault(value, len(strings))
        return f'<c r="{column}{line}" t="s"><v>{index}</v></c>'

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(f'<?xml version="1.0" encoding="UTF-8"?><worksheet {main}><sheetData>'.encode())
            for line in range(1, rows + 2):
                values = HEADER if line == 1 else _row(line - 2)
                if line > 1:
                    values = (*values[:2], float(values[2]), *values[3:])
                cells = "".join(cell(c, line, v) for c, v in zip("ABCDEF", values))
                sheet.write(f'<row r="{line}">{cells}</row>'.encode())
            sheet.write(b"</sheetData></worksheet>")
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as table:
            table.write(f'<?xml version="1.0" encoding="UTF-8"?><sst {main} count="{len(strings)}" '
                        f'uniqueCount="{len(strings)}">'.encode())
            for text in strings:
                table.write(f"<si><t>{text}</t></si>".encode())
            table.write(b"</sst>")
        archive.writestr("xl/workbook.xml", f'<?xml version="1.0" encoding="UTF-8"?><workbook {main} '
                         f'xmlns:r="{rel}"><sheets><sheet name="订单" sheetId="1" r:id="rId1"/></sheets></workbook>')
        archive.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships '
                         'xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                         f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
                         f'<Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/>'
                         '</Relationships>')
        archive.writestr("_rels/.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships '
                         'xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                         f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
                         '</Relationships>')
        archive.writestr("[Content_Types].xml", '<?xml version="1.0" encoding="UTF-8"?><Types '
                         'xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                         '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                         '<Default Extension="xml" ContentType="application/xml"/>'
                         '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
                         'officedocument.spreadsheetml.sheet.main+xml"/>'
                         '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
                         'officedocument.spreadsheetml.worksheet+xml"/>'
                         '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
                         'officedocument.spreadsheetml.sharedStrings+xml"/></Types>')


def one_run(path: Path, server: str | None) -> dict:
    """In this process: the whole import of `path` through the console on a fresh database."""
    from app import create_app
    from app.core import accounts
    from app.extensions import db
    from app.jobs import runner
    from app.rfm import order_import
    from app.rfm.models import OrderImport
    from app.rfm.order_files import auto_mapping
    from config import TestConfig

    work = Path(tempfile.mkdtemp(prefix="scrm-bench-import-"))
    if server:
        from scripts.scratch_db import create_scratch_database, drop_scratch_database
        url = create_scratch_database(server, prefix="scrm_bench")
    else:
        url = f"sqlite:///{work / 'bench.sqlite3'}"
    app = create_app(type("BenchConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url,
                                                        "UPLOAD_DIR": str(work / "uploads")}))
    figures = {}
    try:
        with app.app_context():
            db.create_all()
            accounts.create_user("bench-operator", "bench-password-1", "operator")
        # the client's requests outside any app context: each gets its own (and its own CSRF token cache)
        client = app.test_client()
        token = _CSRF.search(client.get("/auth/login").get_data(as_text=True)).group(1)
        client.post("/auth/login", data={"username": "bench-operator", "password": "bench-password-1",
                                         "csrf_token": token})
        token = _CSRF.search(client.get("/rfm/orders/import").get_data(as_text=True)).group(1)

        def wait() -> dict:
            """Run the import's queued jobs here, as the worker would, until the import stops for the operator."""
            while True:
                with app.app_context():
                    while runner.work_once("bench"):
                        pass
                    job = db.session.scalars(db.select(OrderImport)).one()
                    if job.status not in order_import.RUNNING:
                        return {"status": job.status, "rows": job.total_rows, "added": job.added,
                                "header": job.header, "problem": (job.errors or [])[:3] or job.message}
                time.sleep(0.2)

        started = time.monotonic()
        with path.open("rb") as fh:
            response = client.post("/rfm/orders/import", data={"csrf_token": token, "file": (fh, path.name)},
                                   content_type="multipart/form-data")
        assert response.status_code == 302, response.status_code
        location = response.headers["Location"]
        figures["upload_s"] = time.monotonic() - started
        job = wait()
        assert job["status"] == order_import.MAPPING, job
        figures["read_s"] = time.monotonic() - started - figures["upload_s"]
        views = []
        for _ in range(5):
            view = time.monotonic()
            page = client.get(location).get_data(as_text=True)
            views.append(1000 * (time.monotonic() - view))
        figures["view_ms"] = statistics.median(views)
        assert f"共 {job['rows']:,} 行数据" in page
        confirm = time.monotonic()
        client.post(location, data={"csrf_token": token, **auto_mapping(job["header"])})
        job = wait()
        assert job["status"] == order_import.DONE, job
        figures["check_and_store_s"] = time.monotonic() - confirm
        figures["total_s"] = time.monotonic() - started
        figures["rows"] = job["added"]
        with app.app_context():
            db.engine.dispose()
    finally:
        if server:
            drop_scratch_database(server, url)
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--formats", default="csv,xlsx")
    parser.add_argument("--server", help="a PostgreSQL server URL (scratch database per run); default SQLite")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one_run(Path(args.child), args.server)))
        return
    for suffix in (f".{f}" for f in args.formats.split(",")):
        started = time.monotonic()
        path = order_file(args.rows, suffix)
        print(f"{path.name}: {path.stat().st_size / 2**20:.1f} MB (ready in {time.monotonic() - started:.0f} s)",
              flush=True)
        runs = []
        for _ in range(args.runs):
            command = [sys.executable, "-m", "scripts.bench.order_import", "--child", str(path)]
            if args.server:
                command += ["--server", args.server]
            out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
            if out.returncode:
                sys.exit(out.stderr[-3000:])
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print("  run:", runs[-1], flush=True)
        median = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        print(f"{suffix} median of {len(runs)}: " + ", ".join(f"{k}={v:.1f}" for k, v in median.items()), flush=True)


if __name__ == "__main__":
    main()
