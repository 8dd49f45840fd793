"""Gunicorn behind nginx: `make serve` and the systemd unit both start it with `-c` this file.

Every value can be set from the environment (the systemd unit reads /etc/ruxguide/ruxguide.env;
see ruxguide/deploy/ruxguide.env.example).
"""

import os

# A unix socket only nginx can reach, or host:port when nginx runs on another machine.
bind = [os.environ.get("GUNICORN_BIND", "unix:/run/ruxguide/gunicorn.sock")]
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
# Sync workers are safe only because nginx buffers whole requests and responses: a slow client
# holds an nginx connection, never a worker. This one answers a request gunicorn cannot parse with
# the app's own page rather than gunicorn's bare one (ruxguide/gunicorn_worker.py).
worker_class = "ruxguide.gunicorn_worker.AppPagesSyncWorker"
# nginx refuses a request line or header over 8 KB first (its own page); gunicorn takes up to that.
limit_request_line = 8190
limit_request_field_size = 8190
limit_request_fields = 32768
# No control socket: its one path per user would be shared by every server started on the machine.
control_socket_disable = True
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
# Workers are replaced now and then, so no slow leak can grow without bound: each after 50,000 to
# 100,000 requests, drawn apart so that workers sharing the load do not restart together (with a
# jitter of 500 they did, within 40 ms: none was left to answer for the 0.3 s a worker takes to start).
# A worker's memory stays flat (67.9 MB after 38,000 requests, 68.4 MB after 190,000), while each
# restart costs a fresh start and cold caches: at 5,000 to 10,000 a busy server restarted a worker
# every few seconds, and requests waiting on one took up to 0.5 s.
max_requests = 50000
max_requests_jitter = 50000

# X-Forwarded-Proto is believed only from these TCP peers (a unix socket peer is nginx itself).
# Gunicorn's default trusts 127.0.0.1, so any local process could claim https: trust nobody unless told.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "")

# JSON lines with the same fields as Django's (ruxguide/gunicorn_logs.py): no address, query or agent.
logger_class = "ruxguide.gunicorn_logs.JsonLinesLogger"
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
