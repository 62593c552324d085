"""/metrics for Prometheus (issue 18): how long each route takes, from every worker, and the work's
own figures (usecases/health.figures: task completions, timers due, fired, failed and late,
incidents open, the scheduler's heartbeat age) read from the database at each scrape, so every
process tells the same. With several gunicorn workers PROMETHEUS_MULTIPROC_DIR (gunicorn.conf.py
sets it) joins their request timings. Behind the proxy, keep /metrics internal; METRICS_TOKEN, if
set, is asked of every scrape as a bearer token."""
from __future__ import annotations

import hmac
import os
import time

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from ..usecases import health
from .auth import ctx

metrics = Blueprint("metrics", __name__)
REQUESTS = Histogram("skill_eval_request_seconds", "Time to answer a request, by route (Flask endpoint)",
                     ["endpoint", "method"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


def time_requests(app: Flask) -> None:
    @app.before_request
    def started():
        g.started = time.perf_counter()

    @app.after_request
    def finished(response):
        if "started" in g:  # the route's name, never its path: ids in paths would make a series each
            REQUESTS.labels(request.endpoint or "unknown", request.method).observe(time.perf_counter() - g.started)
        return response


class Work:
    """The figures of the work, collected when Prometheus scrapes."""

    def __init__(self, context):
        self.context = context

    def collect(self):
        found = health.figures(self.context)
        completions = CounterMetricFamily("skill_eval_task_completions", "Tasks completed, by process",
                                          labels=["process"])
        for process, count in sorted(found.completions.items()):
            completions.add_metric([process], count)
        yield completions
        yield CounterMetricFamily("skill_eval_timers_fired", "Timers fired", value=found.timers_fired)
        yield CounterMetricFamily("skill_eval_timers_failed", "Timers failed after their retries",
                                  value=found.timers_failed)
        yield GaugeMetricFamily("skill_eval_timers_due", "Waiting timers whose time has come", value=found.timers_due)
        yield GaugeMetricFamily("skill_eval_timer_lag_seconds", "How late the oldest due timer is",
                                value=found.timer_lag_seconds)
        yield GaugeMetricFamily("skill_eval_incidents_open", "Failed steps and timers not yet resolved",
                                value=found.incidents_open)
        age = found.heartbeat_age_seconds
        yield GaugeMetricFamily("skill_eval_scheduler_heartbeat_age_seconds",
                                "Since the freshest scheduler pass (NaN: no scheduler has run)",
                                value=float("nan") if age is None else age)


@metrics.get("/metrics")
def scrape():
    token = current_app.config.get("METRICS_TOKEN") or os.environ.get("METRICS_TOKEN")
    if token and not hmac.compare_digest(request.headers.get("Authorization", ""), f"Bearer {token}"):
        abort(404)  # as if there were nothing here
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REQUESTS)
    registry.register(Work(ctx()))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
