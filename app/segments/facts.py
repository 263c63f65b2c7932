"""Each customer's segment facts (customer_facts) on PostgreSQL: triggers note who changed, `refresh` rebuilds them.

A statement that writes customers, follow relations, orders, group members or events appends the customers it
touched to customer_facts_changes (statement-level triggers with transition tables: one INSERT per statement).
`refresh` takes the oldest notes, and every later note of the same customers, under a transaction-level advisory
lock, so that refreshes never overlap and a later one always reads newer data, and rebuilds those customers'
facts from the source tables. A writer never waits: the notes are appended, and a note made while a refresh runs
is taken by the next one.

The worker refreshes continuously; a segment count refreshes what is left and reads the facts only when its
session sees no note (`up_to_date`), else it reads the source tables (app/segments/rules.py compiles both ways).
"""
from __future__ import annotations

from sqlalchemy import event, text

from app.extensions import db

LOCK_KEY = 0x5C0FAC75            # pg_advisory_xact_lock key of the refresh
WORKER_BATCH = 2000              # notes a worker turn takes
COUNT_LIMIT = 5000               # notes a count refreshes itself (about 0.7 s); with more it reads the source tables

# table -> the column that holds the customer's external_userid
SOURCES = {"customers": "external_userid", "follow_relations": "external_userid", "orders": "external_userid",
           "customer_group_members": "userid", "customer_events": "external_userid"}

_MARK_FUNCTION = """
CREATE OR REPLACE FUNCTION customer_facts_note_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO customer_facts_changes (external_userid)
        SELECT DISTINCT {column} FROM new_rows WHERE {column} IS NOT NULL;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO customer_facts_changes (external_userid)
        SELECT DISTINCT {column} FROM old_rows WHERE {column} IS NOT NULL;
    ELSE
        INSERT INTO customer_facts_changes (external_userid)
        SELECT {column} FROM new_rows WHERE {column} IS NOT NULL
        UNION SELECT {column} FROM old_rows WHERE {column} IS NOT NULL;
    END IF;
    RETURN NULL;
END $$
"""
_TRIGGER = """
CREATE OR REPLACE TRIGGER customer_facts_{event}_{table} AFTER {event} ON {table}
REFERENCING {transition} FOR EACH STATEMENT EXECUTE FUNCTION customer_facts_note_{table}()
"""
_TRANSITIONS = {"insert": "NEW TABLE AS new_rows", "delete": "OLD TABLE AS old_rows",
                "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows"}

# The facts of the customers in :keys, from the source tables. Paid orders are ordered by (second, id): the
# running total of a window is then the difference of two entries, whatever the ties. Unchanged facts are not
# written again (a nightly sync notes every customer; a new row version each would bloat the table).
_COLUMNS = ("external_userid", "lost", "first_added_at", "staff", "tag_ids", "chat_ids", "states",
            "last_activity_at", "paid_times", "paid_cum_fen")
_REBUILD = """
WITH keys AS (SELECT DISTINCT unnest(CAST(:keys AS varchar[])) AS k),
relations AS (
    SELECT r.external_userid AS k, min(r.added_at) AS first_added_at,
           array_agg(DISTINCT r.userid) FILTER (WHERE r.ended_at IS NULL) AS staff
    FROM follow_relations r JOIN keys ON r.external_userid = keys.k GROUP BY r.external_userid),
states AS (
    SELECT r.external_userid AS k,
           chr(31) || string_agg(DISTINCT replace(replace(r.state, chr(30), chr(30) || '0'), chr(31), chr(30) || '1'),
                                 chr(31)) || chr(31) AS states
    FROM follow_relations r JOIN keys ON r.external_userid = keys.k
    WHERE r.ended_at IS NULL AND r.state <> '' GROUP BY r.external_userid),
tags AS (
    SELECT r.external_userid AS k, array_agg(DISTINCT t.tag) AS tag_ids
    FROM follow_relations r JOIN keys ON r.external_userid = keys.k
    CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(CAST(r.tag_ids AS jsonb)) = 'array'
                                                      THEN CAST(r.tag_ids AS jsonb) END) AS t(tag)
    WHERE r.ended_at IS NULL GROUP BY r.external_userid),
memberships AS (
    SELECT g.userid AS k, array_agg(DISTINCT g.chat_id) AS chat_ids
    FROM customer_group_members g JOIN keys ON g.userid = keys.k WHERE g.left_at IS NULL GROUP BY g.userid),
activity AS (
    SELECT e.external_userid AS k, max(e.occurred_at) AS last_activity_at
    FROM customer_events e JOIN keys ON e.external_userid = keys.k GROUP BY e.external_userid),
paid AS (
    SELECT o.external_userid AS k, o.id, CAST(floor(extract(epoch FROM o.paid_at)) AS bigint) AS t,
           CAST(sum(o.amount_fen) OVER (PARTITION BY o.external_userid
                                        ORDER BY floor(extract(epoch FROM o.paid_at)), o.id) AS bigint) AS total
    FROM orders o JOIN keys ON o.external_userid = keys.k WHERE o.status = 'paid'),
paid_lists AS (
    SELECT k, array_agg(t ORDER BY t, id) AS paid_times,
           CAST(ARRAY[0] AS bigint[]) || array_agg(total ORDER BY t, id) AS paid_cum_fen
    FROM paid GROUP BY k)
INSERT INTO customer_facts (customer_id, {columns})
SELECT c.id, c.external_userid, c.lost_at IS NOT NULL, relations.first_added_at, relations.staff, tags.tag_ids,
       memberships.chat_ids, states.states, activity.last_activity_at, paid_lists.paid_times,
       paid_lists.paid_cum_fen
FROM customers c JOIN keys ON c.external_userid = keys.k
LEFT JOIN relations ON relations.k = c.external_userid
LEFT JOIN tags ON tags.k = c.external_userid
LEFT JOIN states ON states.k = c.external_userid
LEFT JOIN memberships ON memberships.k = c.external_userid
LEFT JOIN activity ON activity.k = c.external_userid
LEFT JOIN paid_lists ON paid_lists.k = c.external_userid
ON CONFLICT (customer_id) DO UPDATE SET ({columns}) = ({excluded})
WHERE ({current}) IS DISTINCT FROM ({excluded})
""".format(columns=", ".join(_COLUMNS), excluded=", ".join(f"EXCLUDED.{c}" for c in _COLUMNS),
           current=", ".join(f"customer_facts.{c}" for c in _COLUMNS))


def install_statements() -> list[str]:
    """The functions and triggers that note changed customers (PostgreSQL 14+)."""
    statements = []
    for table, column in SOURCES.items():
        statements.append(_MARK_FUNCTION.format(table=table, column=column))
        statements += [_TRIGGER.format(event=name, table=table, transition=transition)
                       for name, transition in _TRANSITIONS.items()]
    return statements


@event.listens_for(db.metadata, "after_create")
def _install(target, connection, **kw) -> None:
    if connection.dialect.name == "postgresql":
        for statement in install_statements():
            connection.exec_driver_sql(statement)


def kept() -> bool:
    """Whether this database keeps facts (PostgreSQL)."""
    return db.engine.dialect.name == "postgresql"


def refresh(limit: int) -> int:
    """Rebuild the facts of the customers of the `limit` oldest notes, in a transaction of its own; how many notes
    were settled (their customers' later notes included)."""
    with db.engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        taken = conn.scalars(text(
            "DELETE FROM customer_facts_changes WHERE id IN "
            "(SELECT id FROM customer_facts_changes ORDER BY id LIMIT :limit) RETURNING external_userid"),
            {"limit": limit}).all()
        keys = sorted(set(taken))
        if not keys:
            return 0
        # Later notes of the same customers are settled too: what they noted was committed before this statement,
        # so the rebuild below reads it (a sync notes each customer once per table it writes).
        later = conn.execute(text("DELETE FROM customer_facts_changes WHERE external_userid = ANY(:keys)"),
                             {"keys": keys}).rowcount
        conn.execute(text(_REBUILD), {"keys": keys})
    return len(taken) + later


def work_once() -> int:
    """The worker's turn: one batch of notes (0 on databases that keep no facts)."""
    return refresh(WORKER_BATCH) if kept() else 0


def up_to_date(limit: int = COUNT_LIMIT) -> bool:
    """Whether the facts hold everything the current session sees, after refreshing what is noted when that is at
    most `limit` notes. They do not while more is noted (a sync is writing: the worker catches up), nor when the
    session has written to a source table without committing: it sees its own notes, which nobody else can take."""
    if not kept():
        return False
    pending = db.session.scalar(text("SELECT count(*) FROM (SELECT 1 FROM customer_facts_changes LIMIT :n) AS s"),
                                {"n": limit + 1})
    if not pending or pending > limit:
        return not pending
    refresh(limit)
    return db.session.scalar(text("SELECT NOT EXISTS (SELECT 1 FROM customer_facts_changes)"))
