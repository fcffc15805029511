"""Stage 4, deliver: pending outgoing rows sent through a transport."""
