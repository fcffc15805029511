"""buhdesk: the accounting service's mailbox and «ДелоПро» integration daemon."""

__version__ = "0.1.0"
