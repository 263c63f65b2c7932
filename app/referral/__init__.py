"""Referral tasks (任务宝): ladder rewards, personal contact ways, credits that cannot be gamed."""
