"""Exporting the filtered contact list to CSV and Excel: contents, masking, formula guard and the audit row."""
import csv
import io
from datetime import datetime

from openpyxl import load_workbook
from sqlalchemy import select

from app.contacts.models import FollowRelation
from app.core import settings
from app.core.audit import AuditEntry
from app.extensions import db
from tests.web.test_contacts_pages import company  # noqa: F401 (fixture)


def test_csv_export_has_the_filtered_customers_and_is_audited(client, signed_in_as, company):  # noqa: F811
    signed_in_as("operator")
    response = client.get("/contacts/export?format=csv&department=2")
    assert response.status_code == 200 and "contacts.csv" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:6] == ["客户ID", "客户名称", "企业", "跟进员工", "备注", "手机号"]
    by_id = {r[0]: r for r in rows[1:]}
    assert set(by_id) == {"wm-zhang", "wm-li"}
    assert by_id["wm-zhang"][3:7] == ["王丽", "老客户张总", "13812345678", "高意向"]
    assert by_id["wm-zhang"][7:11] == ["", "spring-fair", "扫描二维码", "2026-03-01 12:00"]  # a state no channel has
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "contacts.exported")).one()
    assert entry.actor_name == "operator-user"
    assert entry.details == {"filters": {"department": "2", "sort": "newest"}, "format": "csv", "rows": 2,
                             "mobiles": "shown"}


def test_excel_export_guards_formulas_and_keeps_every_relation(client, signed_in_as, company):  # noqa: F811
    signed_in_as("admin")
    response = client.get("/contacts/export?format=xlsx&lost=yes")
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert len(rows) == 2
    assert rows[1][0] == "wm-wang" and rows[1][2] == "'=cmd|' /C calc'!A0" and rows[1][3] == "陈卡"
    ended = db.session.scalar(select(FollowRelation.ended_at).where(FollowRelation.external_userid == "wm-wang"))
    local = ended.astimezone(settings.corp_timezone()).replace(tzinfo=None, microsecond=0)
    assert rows[1][11] == local and isinstance(rows[1][12], datetime)  # relation ended, customer lost: Excel times
    assert sheet.cell(2, 12).number_format == "yyyy-mm-dd hh:mm"


def test_export_masks_mobiles_for_roles_without_the_permission(app, client, signed_in_as, company):  # noqa: F811
    from app.core.permissions import ROLE_PERMISSIONS, Permission, Role

    custom = ROLE_PERMISSIONS[Role.COMMUNITY_MANAGER] | {Permission.CONTACTS_EXPORT}
    original = ROLE_PERMISSIONS[Role.COMMUNITY_MANAGER]
    ROLE_PERMISSIONS[Role.COMMUNITY_MANAGER] = custom
    try:
        signed_in_as("community_manager")
        text = client.get("/contacts/export?format=csv&staff=alice").get_data(as_text=True)
    finally:
        ROLE_PERMISSIONS[Role.COMMUNITY_MANAGER] = original
    assert "138****5678" in text and "13812345678" not in text
