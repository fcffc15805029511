"""The I/O edge of buhdesk: IMAP, Maildir, «ДелоПро» folders, SMTP and file outboxes."""
