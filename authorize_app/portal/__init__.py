"""The staff portal under ``/portal``: customers, viewers, connections, API log, reports.

``PortalApp(control)`` is the WSGI application; ``authorize_app.app.create_app`` mounts it.
"""
