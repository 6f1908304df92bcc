"""The staff portal under ``/portal``: customers, viewers, connections, API log, reports."""
