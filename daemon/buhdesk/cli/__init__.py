"""The ``buhdesk`` command and its sub-commands."""
