"""Sensitive-word library: categories, words, import/export, and the one check every outgoing text goes through."""
