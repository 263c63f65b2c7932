"""Adding and removing corp tags on many customers at once, every current relation in scope, through app/tags."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from app.contacts.models import Customer, FollowRelation
from app.contacts.scope import Scope
from app.core.errors import UserError
from app.core.permissions import N_
from app.extensions import db
from app.tags import marking
from app.tags.models import CorpTag
from app.tags.read_only import refusal

MAX_CUSTOMERS = 500  # one job's worth: each relation is one WeCom call
IN_REQUEST = 20  # up to a page of the contact list is marked while the request waits; more is a worker's job
NO_RELATION = N_("没有可打标签的跟进关系（客户已流失或不在您的范围内）")


class TagRequestError(UserError):
    """The request names no tag, an unknown tag or one a job maintains (RFM, 生命周期), or too many customers; nothing was sent."""


@dataclass(frozen=True)
class Problem:
    """Why a relation (of `userid`; None: the customer has none) was not marked: `message` is a msgid, translated
    where shown, when `msgid`, else WeCom's words as marking gives them."""

    userid: str | None
    message: str
    msgid: bool = False

    def __str__(self) -> str:
        return f"{self.userid}: {self.message}" if self.userid else self.message


@dataclass
class TagResult:
    """What happened to one customer: ok, or the WeCom error of the relation that failed; `skipped`: relations of
    staff who left, not asked of WeCom (a customer only such relations carry is not ok: nobody's tags changed)."""

    external_userid: str
    name: str
    ok: bool = True
    errors: list[Problem] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)


def _valid_tags(tag_ids: list[str]) -> list[str]:
    known = set(db.session.scalars(select(CorpTag.tag_id).where(CorpTag.tag_id.in_(tag_ids),
                                                                CorpTag.deleted_at.is_(None))))
    unknown = [t for t in tag_ids if t not in known]
    if unknown:
        raise TagRequestError(N_("未知或已删除的标签：%(tags)s"), tags=", ".join(unknown))
    if refused := refusal(tag_ids):
        raise TagRequestError(refused[0], **refused[1])
    return sorted(known)


def checked(external_userids: list[str], add: list[str], remove: list[str]) -> tuple[list[str], list[str], list[str]]:
    """The request's customers and tags, or TagRequestError saying what is wrong with it (nothing is sent)."""
    external_userids = list(dict.fromkeys(e for e in external_userids if e))
    if not external_userids:
        raise TagRequestError(N_("请先勾选客户"))
    if len(external_userids) > MAX_CUSTOMERS:
        raise TagRequestError(N_("一次最多为 %(limit)s 位客户打标签"), limit=MAX_CUSTOMERS)
    add, remove = _valid_tags(list(add)), _valid_tags(list(remove))
    if not add and not remove:
        raise TagRequestError(N_("请选择要添加或移除的标签"))
    if set(add) & set(remove):
        raise TagRequestError(N_("同一个标签不能同时添加和移除"))
    return external_userids, add, remove


def mark_tags(external_userids: list[str], add: list[str], remove: list[str], scope: Scope) -> list[TagResult]:
    """Send mark_tag for every current relation (in scope) of each customer; store tags only where WeCom agreed."""
    external_userids, add, remove = checked(external_userids, add, remove)
    names = dict(db.session.execute(select(Customer.external_userid, Customer.name).where(
        Customer.external_userid.in_(external_userids))).all())
    relations = db.session.execute(select(FollowRelation.userid, FollowRelation.external_userid).where(
        FollowRelation.external_userid.in_(external_userids), FollowRelation.ended_at.is_(None),
        scope.staff_filter(FollowRelation.userid)).order_by(FollowRelation.id)).all()
    report = marking.mark([marking.Change(userid, ext, tuple(add), tuple(remove)) for userid, ext in relations],
                          "contacts.tags_marked", details={"add": add, "remove": remove})
    results = {e: TagResult(e, names.get(e, "")) for e in external_userids}
    marked = set()
    for result in report.results:
        customer = results[result.change.external_userid]
        skipped = result.outcome is marking.Outcome.SKIPPED  # its error is marking's STAFF_LEFT msgid
        said = Problem(result.change.userid, result.error or "", msgid=skipped)
        if result.ok:
            marked.add(customer.external_userid)
        elif skipped:
            customer.skipped.append(said)
        else:
            customer.ok = False
            customer.errors.append(said)
    for customer in results.values():
        if customer.skipped and customer.external_userid not in marked:
            customer.ok, customer.errors = False, [*customer.errors, *customer.skipped]
            customer.skipped = []
    for ext in set(external_userids) - {ext for _, ext in relations}:
        results[ext].ok = False
        results[ext].errors.append(Problem(None, NO_RELATION, msgid=True))
    return list(results.values())


def run_job(external_userids: list[str], add: list[str], remove: list[str], username: str) -> dict:
    """The job `contacts.bulk_tags`: more than a page of customers, marked within the scope of who asked."""
    from app.contacts.scope import scope_for
    from app.core.accounts import User

    user = db.session.scalar(select(User).where(User.username == username))
    results = mark_tags(external_userids, add, remove, scope_for(user))
    failed = [r for r in results if not r.ok]
    if failed:
        raise RuntimeError(f"{len(results) - len(failed)} 位客户已更新，{len(failed)} 位失败："
                           + "；".join(f"{r.name or r.external_userid}（{'；'.join(map(str, r.errors))}）" for r in failed[:20]))
    return {"customers": len(results)}

