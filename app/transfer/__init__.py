"""Transfers (继承): customers and groups of staff who left or move, handed to another member within WeCom's rules."""
