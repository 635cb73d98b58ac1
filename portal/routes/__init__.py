"""One router per feature (API endpoints under ``/api/v1`` and the pages beside them).

A feature adds its module here and its router to ROUTERS; ``create_app`` mounts each with the
CSRF guard. tests/test_portal_idor.py enumerates every route, so a new one needs its entry in
the authorization matrix there.
"""

from casslink.portal.routes import (
    admin,
    auth,
    consolidated,
    disputes,
    files,
    lines,
    me,
    payments,
    periods,
    settings,
    statements,
    tokens,
)

ROUTERS = [auth.router, me.router, files.router, periods.router, statements.router,
           consolidated.router, settings.router, tokens.router, admin.router, disputes.router,
           payments.router, lines.router]
