"""Stage 6, feedback: the anonymous survey, its invitations, and the reports built on its
answers."""
