"""Tags: the corp tag catalogue managed in WeCom first (groups, tags, order), and tags maintained by rules."""
