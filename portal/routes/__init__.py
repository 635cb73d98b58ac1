"""One router per feature (API endpoints under ``/api/v1`` and the pages beside them).

A feature adds its module here and its router to ROUTERS; ``create_app`` mounts each with the
CSRF guard. tests/test_portal_idor.py enumerates every route, so a new one needs its entry in
the authorization matrix there.
"""

from casslink.portal.routes import auth, disputes, me

ROUTERS = [auth.router, me.router, disputes.router]
