"""The send engine: every outgoing mass message (pushes now; automations, referral tasks, group SOP next) goes here.

It owns the audience snapshot, opt-outs, holdout and A/B draws, frequency caps, WeCom's receive quota, quiet
hours, the outbox (one delivery row per customer or group), tasks of at most 10,000 recipients, dispatch with a
lookup before any resend (never twice), polling, reminders and the delivery results.

The interface, all a sender needs:

    why   a Send subclass mapped on the sends table (single-table inheritance on `origin`), with its own columns
          naming the originating object, e.g. campaigns.models.CampaignRun; it may override `veto()` (a reason not
          to send after all, asked when the send is cut into tasks), `withdrawn()` (recipients to skip after all,
          asked then too: a customer who left a journey) and `describe()` (its name in the audit log).
    who   customers(query of customer ids, allowed senders=None) or groups(query of CustomerGroup, allowed=None):
          read when the send is planned (the snapshot).
    what  Variant(key, percent, {"text", "attachments"}): one, or an A/B split adding up to 100 %.
    when  Request.when: not before this instant (quiet hours still apply); None: now.
    category  for the frequency caps ("promotion", "content", "service", ...).
    holdout key  the seed of the stable holdout and A/B draws: planning again with the same key holds out the same
          customers; Request.holdout_percent says how many.
    personal  Request.personal(batch of (target_key, customer_id)) -> {target_key: {name: value}}: content that
          differs by recipient (a personal link). `{name}` in the text and in a link's title, description and url
          becomes the recipient's value. WeCom sends one content per add_msg_template task, so recipients share a
          task only when their values are equal: a personal link is one task (one confirmation by the staff member)
          per recipient. It costs no extra receive quota (each recipient still gets one message). Planned
          recipients without values are skipped (no_personal).

    plan(send, Request(...), now)      writes the outbox inside the caller's transaction; the send becomes
                                       "planned" (or "waiting_window" until send.not_before).
    plan_direct(send, variant, ...)    one delivery past every guard (a staff member's test to their own customer).
    summary(send_id), cancel(send_id)  counts by status and reason; cancel what is not sent yet (WeCom tasks too).

The worker's `work_once` cuts due sends into tasks and submits them (app.sending.dispatch); the scheduler polls
(app.sending.polling.tick) and imports sends made outside the console (app.sending.outside_sends). Results are read
from `Delivery` and `SendTask` rows by send id (app.sending.models).
"""
from app.sending.dispatch import work_once
from app.sending.planner import Audience, Request, Variant, customers, groups, plan, plan_direct, summary
from app.sending.polling import cancel_run as cancel

__all__ = ["Audience", "Request", "Variant", "customers", "groups", "plan", "plan_direct", "summary", "cancel",
           "work_once"]
