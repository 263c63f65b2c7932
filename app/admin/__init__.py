"""Administration pages: settings, accounts and roles, API tokens, the audit log."""
