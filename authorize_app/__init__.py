"""The WSGI application (no Flask): the public consent flow and, under /portal, the staff portal."""
