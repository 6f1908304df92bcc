"""Tests of the staff portal: pages, access, security, the browser."""
