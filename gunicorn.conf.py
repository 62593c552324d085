"""Production serving (issue 18): `gunicorn -c gunicorn.conf.py`, beside one or more scheduler
processes (`flask --app service.app scheduler`). Settings come from the environment as for the
app (service/config.py); WEB_WORKERS, WEB_THREADS, PORT and WEB_TIMEOUT size it here."""
import multiprocessing
import os

wsgi_app = "service.app:create_app()"
bind = f"{os.environ.get('BIND', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
# A worker per core, plus one: a request spends much of its time waiting on the database.
workers = int(os.environ.get("WEB_WORKERS", multiprocessing.cpu_count() + 1))
# Threads for the waits (database, uploads) within a worker.
threads = int(os.environ.get("WEB_THREADS", 4))
worker_class = "gthread"
timeout = int(os.environ.get("WEB_TIMEOUT", 120))  # an exam video's upload may take a while
graceful_timeout = 30
keepalive = 5
# Behind a reverse proxy: the app trusts X-Forwarded-For only from PROXY_COUNT proxies (ProxyFix).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
preload_app = False  # each worker builds its own database pool


# Prometheus (service/web/metrics.py): the workers write their request timings here, so a scrape
# answered by any one of them reports them all. Emptied at start; a worker's files go when it exits.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    import tempfile
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="skill-eval-metrics-")


def child_exit(server, worker):
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)
