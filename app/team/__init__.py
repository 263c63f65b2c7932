"""Team performance (团队绩效): daily WeCom snapshots per staff member, figures from our own data, overview and scorecards."""
