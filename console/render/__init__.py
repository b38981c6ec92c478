"""Renderers: one module per kind, pure functions from a snapshot to what is shown.

Each ``console/render/<kind>.py`` turns a snapshot (plus the thresholds and
policy it is judged by) into rows of Rich ``Text`` and lines of figures, and
into the JSON of ``report --json``. The pane shows those rows in its widgets
and the Rich ``report`` prints the same rows in tables, so a figure cannot
read one way on screen and another in a report. No Textual here: ``report``
and ``check`` load none of the UI.
"""
