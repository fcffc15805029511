"""The daemon process: runner, runtime wiring, reloads, health, metrics and systemd integration."""
