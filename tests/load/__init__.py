"""Load tests: the portal under many users, token refreshes under many processes."""
