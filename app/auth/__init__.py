"""Signing in and out of the console, and choosing the UI language."""
