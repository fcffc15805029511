"""The small web application: the anonymous survey page and ``/healthz`` (``buhdesk web``)."""
