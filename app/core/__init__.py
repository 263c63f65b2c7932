"""Shared foundations: database helpers, accounts and roles, audit log, settings, masking."""
