"""Stage 1, intake: raw items stored and committed before their source is acknowledged."""
