"""社群运营: group join codes (群活码), group welcome templates, group tiers and invitations into tiered groups."""
