"""Stage 6, report: SLA, routing and touchpoint reports and the table, chart and page helpers they
share."""
