"""Data access for xenon-console: domain model, source interfaces, backends.

Nothing in this package imports Textual (a test enforces it).
"""
