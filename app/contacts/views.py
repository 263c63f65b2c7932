"""The contacts pages (blueprint `contacts`): contact list, customer, groups, staff, bulk tags, export; sync jobs."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app import jobs
from app.jobs import views as job_pages
from app.contacts import bulk_tags, contact_list, customer_page, exports, group_pages, group_tags, staff_pages, sync
from app.contacts.labels import ADD_WAY_LABELS, ENDED_BY_LABELS, JOIN_SCENE_LABELS, STAFF_STATUS_LABELS, mask_mobile
from app.community.activity_report import BAND_LABELS, BANDS
from app.community.health import band as band_of
from app.community.models import TIERS
from app.contacts.models import SyncRun
from app.contacts.staff_labels import staff_labels
from app.contacts.scope import scope_for
from app.core.export import requested_format
from app.core.guard import requires
from app.core.permissions import Permission as P
from app.extensions import db
from app.wecom import connection
from app.welcome.channel_names import names_by_state
from app.wecom.connection import NotConfigured

bp = Blueprint("contacts", __name__, url_prefix="/contacts", template_folder="templates")
PAGE_SIZE = 20
LABELS = {"status_labels": sync.STATUS_LABELS, "stage_labels": sync.STAGE_LABELS,
          "entity_labels": sync.ENTITY_LABELS, "percent": sync.percent, "interrupted": sync.interrupted}
CODE_LABELS = {"add_way_labels": ADD_WAY_LABELS, "ended_by_labels": ENDED_BY_LABELS,
               "join_scene_labels": JOIN_SCENE_LABELS, "staff_status_labels": STAFF_STATUS_LABELS}


def _page_number() -> int:
    return request.args.get("page", 1, type=int) or 1


def _back() -> str:
    """Where the tag form came from (a local path only), else the contact list."""
    target = request.form.get("next") or ""
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else url_for("contacts.index")


def _mobile(number: str) -> str:
    return number if current_user.can(P.CONTACTS_VIEW_MOBILE) else mask_mobile(number)


@bp.get("/", endpoint="index")
@requires(P.CONTACTS_VIEW)
def index():
    scope = scope_for(current_user)
    f = contact_list.Filters.from_args(request.args)
    page = contact_list.load_page(f, scope, _page_number(), current_user.can(P.CONTACTS_VIEW_MOBILE))
    return render_template("contacts/index.html", f=f, page=page, scope=scope, choices=contact_list.choices(scope),
                           channels=names_by_state(), row_channels=names_by_state(
                               r.state for rels in page.relations.values() for r in rels),
                           settable_tags=contact_list.tag_choices(settable=True) if current_user.can(P.CONTACTS_EDIT) else [],
                           tag_names=contact_list.tag_names(), sorts=contact_list.SORTS, mobile=_mobile,
                           count_cap=contact_list.COUNT_CAP, mark_budget=connection.mark_tag_budget(), **CODE_LABELS)


@bp.get("/export", endpoint="export")
@requires(P.CONTACTS_EXPORT)
def export():
    return exports.export(contact_list.Filters.from_args(request.args), scope_for(current_user),
                          current_user.can(P.CONTACTS_VIEW_MOBILE), requested_format(request.args.get("format")))


def _mark(external_userids: list[str]) -> list[bulk_tags.TagResult] | None:
    """Run a tag change from the posted form; flashes why when nothing could be sent."""
    try:
        return bulk_tags.mark_tags(external_userids, request.form.getlist("add"), request.form.getlist("remove"),
                                   scope_for(current_user))
    except (bulk_tags.TagRequestError, NotConfigured) as exc:
        flash(exc.localized(), "warning")
        return None


@bp.post("/tags", endpoint="bulk_tags")
@requires(P.CONTACTS_EDIT)
def bulk_tag():
    """Add/remove tags on the ticked customers; shows each customer's result (more than a page: a worker's job)."""
    ticked = request.form.getlist("external_userid")
    if len(set(ticked)) > bulk_tags.IN_REQUEST:
        try:
            ids, add, remove = bulk_tags.checked(ticked, request.form.getlist("add"), request.form.getlist("remove"))
        except bulk_tags.TagRequestError as exc:
            flash(exc.localized(), "warning")
        else:
            job = jobs.enqueue("contacts.bulk_tags", {"external_userids": ids, "add": add, "remove": remove,
                                                      "username": current_user.username},
                               requested_by=current_user.username)
            flash(_("%(n)s 位客户的标签变更已排队（后台任务 #%(id)s），由后台 worker 同步到企业微信", n=len(ids), id=job.id),
                  "success")
        return redirect(_back())
    results = _mark(ticked)
    if results is None:
        return redirect(_back())
    return render_template("contacts/tag_results.html", results=results, tag_names=contact_list.tag_names(),
                           add=request.form.getlist("add"), remove=request.form.getlist("remove"),
                           back=_back())


@bp.get("/staff", endpoint="staff")
@requires(P.CONTACTS_VIEW)
def staff():
    scope = scope_for(current_user)
    q = request.args.get("q", "").strip()
    return render_template("contacts/staff.html", rows=staff_pages.staff_rows(scope, q), q=q, scope=scope,
                           **CODE_LABELS)


@bp.get("/groups", endpoint="groups")
@requires(P.GROUPS_VIEW)
def groups():
    scope = scope_for(current_user)
    args = request.args
    sizes = [args.get(k, type=int) for k in ("min", "max")]
    band = args.get("health", "")
    tag_options = contact_list.tag_choices()
    tags, tag_problem = group_tags.parse(args.getlist("tag"), args.get("tag_mode", ""), args.get("tag_share", ""),
                                         {tag_id for tag_id, _name, _group in tag_options})
    flt = group_pages.GroupFilter(args.get("q", "").strip(), args.get("tier", ""), args.get("owner", "").strip(),
                                  *(n if n is not None and 0 <= n <= 100_000 else None for n in sizes),
                                  health=band if band in BANDS else "", silent=args.get("silent") == "1", tags=tags)
    if tag_problem:  # said above the list, which lists nothing rather than the groups without this filter
        page, counts, owners, tiers, health, tagged = group_pages.no_page(), {}, {}, {}, {}, None
    else:
        page, counts, owners, tiers, health, tagged = group_pages.group_page(scope, flt, _page_number())
    owner_label = staff_labels([flt.owner]).get(flt.owner, flt.owner) if flt.owner else ""
    return render_template("contacts/groups.html", page=page, counts=counts, owners=owners, tiers=tiers, flt=flt,
                           health=health, band_labels=BAND_LABELS, band_of=band_of,
                           owner_label=owner_label, tier_labels=TIERS, no_tier=group_pages.NO_TIER, scope=scope,
                           can_set_tier=current_user.can(P.COMMUNITY_MANAGE), tag_options=tag_options,
                           tag_problem=tag_problem, tag_modes=group_tags.MODE_LABELS, tagged=tagged), 400 if tag_problem else 200


@bp.get("/groups/<chat_id>", endpoint="group")
@requires(P.GROUPS_VIEW)
def group(chat_id: str):
    found = group_pages.group_detail(chat_id, scope_for(current_user)) or abort(404)
    group_row, members, people = found
    return render_template("contacts/group.html", group=group_row, members=members, people=people, **CODE_LABELS)


@bp.get("/<external_userid>", endpoint="customer")
@requires(P.CONTACTS_VIEW)
def customer(external_userid: str):
    view = customer_page.load(external_userid, scope_for(current_user)) or abort(404)
    tags = contact_list.tag_choices(settable=True) if current_user.can(P.CONTACTS_EDIT) else []
    return render_template("contacts/customer.html", v=view, mobile=_mobile, tag_choices=tags,
                           **CODE_LABELS)


@bp.post("/<external_userid>/tags", endpoint="customer_tags")
@requires(P.CONTACTS_EDIT)
def customer_tags(external_userid: str):
    results = _mark([external_userid])
    if results:
        result = results[0]
        if result.ok:
            flash(_("标签已更新并同步到企业微信"), "success")
        else:
            flash(_("部分或全部跟进关系未能更新：%(errors)s", errors="；".join(result.errors)), "danger")
    return redirect(url_for("contacts.customer", external_userid=external_userid))


@bp.get("/sync", endpoint="sync_runs")
@requires(P.SYNC_RUN)
def sync_runs():
    page = db.paginate(select(SyncRun).order_by(SyncRun.id.desc()), per_page=PAGE_SIZE, error_out=False)
    job = jobs.active("contacts.sync")
    return render_template("contacts/sync_runs.html", page=page, job=job, progress=job and jobs.progress_of(job),
                           **LABELS)


@bp.post("/sync/start", endpoint="sync_start")
@requires(P.SYNC_RUN)
def sync_start():
    """Ask a worker for a full sync (it resumes the interrupted one), then show its progress on the list."""
    job_pages.start("contacts.sync", {"started_by": current_user.username})
    return redirect(url_for("contacts.sync_runs"))


@bp.get("/sync/<int:run_id>", endpoint="sync_run")
@requires(P.SYNC_RUN)
def sync_run(run_id: int):
    run = db.session.get(SyncRun, run_id) or abort(404)
    job = jobs.active("contacts.sync") if run.status == sync.RUNNING else None
    return render_template("contacts/sync_run.html", run=run, job=job if job and job.state == "running" else None,
                           **LABELS)


from app.contacts import pickers  # noqa: E402,F401  (the pickers' JSON search, on this blueprint)
