"""What the console knows, kept out of the widgets: one ``SourceState`` per
source and the ``AlarmBook``. Plain classes, no Textual, tested without Pilot."""
