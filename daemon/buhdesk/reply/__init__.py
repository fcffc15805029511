"""Stage 3, reply: outgoing letters written as rows with the state change; accountants' answers
checked and wrapped."""
