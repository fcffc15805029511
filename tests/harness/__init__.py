"""The test harness: real Dovecot and SMTP servers on loopback, and in-memory connectors.

Kept under tests/ so it never ships in the wheel; benchmarks load it through bench/harness.py."""
