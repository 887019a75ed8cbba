"""The Task Manager web page and its JSON API (`heartbeat web`, or `[web] listen` under `heartbeat run`).

app.py builds the ASGI application; guard.py is the one place a request is let in (login session,
CSRF, bearer token, security headers); api.py and pages.py are thin views over the same task verbs
the CLI calls (heartbeat.services.tasks.TaskManager); downloads.py streams a task's files; server.py
listens (uvicorn) and refuses an exposed address without a password. docs/web.md is the user's guide.
"""
