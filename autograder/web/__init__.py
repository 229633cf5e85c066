"""The course's web app (FastAPI): the competition's pages and JSON API and, on the course server
(``autograder serve``), the released assignments and their data.

:mod:`.app` assembles it; :mod:`.routers` holds one router per area; :mod:`.dependencies`
says who is asking (session cookie for pages, ``Authorization: Bearer`` for the API);
:mod:`.errors` turns every refusal into a response in the style of the route that refused;
:mod:`.guard` caps request bodies and adds the security headers.
"""
