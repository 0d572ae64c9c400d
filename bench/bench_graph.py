"""Benchmark: the DAG drawing (graph pages) on generated flows, in a real headless Chromium.

Run by hand (not part of the test suite):

    .venv/bin/python bench/bench_graph.py [--sizes 1000 5000] [--group-size 20] [--forks] [--repeat 5] [--runs 3]

It fills a throwaway SQLite database (in a temporary directory unless
FLOWFORGE_VAR_DIR is set) with one flow per size: groups of --group-size
tasks, each task after the one before in its group, every seventh task also
after a task of the previous group, and each group after the previous one.
Then it serves the admin (with its static files) on a local port and measures:

- the JSON endpoint (django.test.Client, DEBUG off): median and slowest of
  --repeat requests, and its query count;
- in headless Chromium (Debian's chromium + chromedriver, through Selenium):
  the first drawing (navigation start to the drawing built, and to the frame
  that shows it; flows of more than 1 000 tasks open with their groups
  collapsed), "expand all" (the full layout in the web worker, then the
  drawing), the longest main-thread frame while that layout runs (the page
  must not freeze), and frame times while panning the fully expanded drawing
  for --pan-seconds.

With ``--mapped N`` it measures instead a run of a flow with a mapped task of
N instances against the same flow's run with 3 (issue 22): the graph JSON and
the panel's first page of instances (graph/instances/), and in Chromium the
run graph opened on the mapped task (its panel and instance list shown).
"""

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-not-for-any-server")
if "FLOWFORGE_VAR_DIR" not in os.environ:
    os.environ["FLOWFORGE_VAR_DIR"] = tempfile.mkdtemp(prefix="flowforge-bench-graph-")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.contrib.staticfiles.handlers import StaticFilesHandler  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from flowforge_admin.definitions import store  # noqa: E402
from flowforge_admin.definitions.spec import FlowSpec, TaskSpec  # noqa: E402
from flowforge_admin.engine.snapshot import take_snapshot  # noqa: E402
from flowforge_admin.models import Flow, FlowRun, RunSnapshot, TaskRun  # noqa: E402

FUNCTION = "flowforge_admin.demo.tasks.prepare_batch"
PASSWORD = "bench-password-long-enough"


def generated_specs(size, group_size, forks=False):
    """``size`` tasks in groups of ``group_size`` (the group rows included); with ``forks``,
    every fifth task of a group also after the task two before it (a group is then no chain)."""
    specs = []
    groups = max(1, size // group_size)
    per_group = group_size - 1
    for g in range(groups):
        specs.append(
            TaskSpec(name=f"g{g}", verbose_name=f"Stage {g}", depends_on=(f"g{g - 1}",) if g > 1 else ())
        )
        for i in range(per_group):
            depends = [f"g{g}_t{i - 1}"] if i else []
            if g and i % 7 == 3:
                depends.append(f"g{g - 1}_t{i}")
            if forks and i % 5 == 2:
                depends.append(f"g{g}_t{i - 2}")
            specs.append(
                TaskSpec(
                    name=f"g{g}_t{i}",
                    parent=f"g{g}",
                    function=FUNCTION,
                    verbose_name=f"Step {g}.{i}",
                    depends_on=tuple(depends),
                )
            )
    return specs


def make_flow(size, group_size, forks=False):
    spec = FlowSpec(
        name=f"bench_{size}",
        display_name=f"Bench {size} tasks",
        tasks=tuple(generated_specs(size, group_size, forks)),
    )
    flow, _ = store.write_flow(spec, origin=Flow.Origin.ADMIN)
    return flow


def make_run(flow):
    """A run of ``flow`` with one task run per task (written directly: no worker involved)."""
    run = FlowRun.objects.create(
        flow=flow,
        flow_name=flow.name,
        flow_version=flow.version,
        status="running",
    )
    RunSnapshot.objects.create(run=run, data=take_snapshot(flow))
    statuses = ["succeeded", "running", "pending", "failed"]
    TaskRun.objects.bulk_create(
        TaskRun(run=run, task_name=task["name"], status=statuses[i % 4], attempt=1)
        for i, task in enumerate(run.snapshot["tasks"])
    )
    return run


class Server:
    """The admin and its static files on a free local port, in a thread."""

    def __init__(self):
        handler = StaticFilesHandler(get_wsgi_application())
        self.httpd = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler)
        self.httpd.set_app(handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def time_json(client, url, repeat):
    client.get(url)  # warm up
    executed = []
    with connection.execute_wrapper(lambda execute, sql, *rest: executed.append(sql) or execute(sql, *rest)):
        client.get(url)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return statistics.median(times), max(times), len(executed), len(response.content)


def chromium():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1600,1000"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def log_in(driver, server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{server.url}/admin/login/")
    driver.find_element(By.NAME, "username").send_keys("bench")
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    # Until the login is through: a page opened sooner would be the login form again.
    WebDriverWait(driver, 60).until(lambda d: "/login/" not in d.current_url)


def wait_state(driver, wanted, timeout=120):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        WebDriverWait(driver, timeout, poll_frequency=0.05).until(
            lambda d: (
                d.execute_script("return document.getElementById('content-main').dataset.state")
                in (wanted, "error")
            )
        )
    except TimeoutException:
        print(
            driver.execute_script(
                "return [document.getElementById('content-main').dataset.state, document.getElementById('ff-graph-status').textContent, location.href]"
            )
        )
        print(driver.get_log("browser"))
        raise


# Records every frame's length from now on (window.ffFrames), to see freezes.
FRAME_RECORDER = """
window.ffFrames = [];
let last = performance.now();
(function frame(now) {
  window.ffFrames.push(now - last); last = now;
  if (!window.ffStopFrames) requestAnimationFrame(frame);
})(last);
"""

# Pans the drawing a little every frame for arguments[0] ms; returns the frame lengths.
PAN = """
const done = arguments[arguments.length - 1];
const cy = window.ffGraph.cy;
const until = performance.now() + arguments[0];
const frames = []; let last = performance.now(); let step = 0;
function frame(now) {
  frames.push(now - last); last = now; step += 1;
  cy.panBy({x: Math.sin(step / 20) * 12, y: Math.cos(step / 25) * 8});
  if (now < until) requestAnimationFrame(frame); else done(frames.slice(1));
}
requestAnimationFrame(frame);
"""


def frame_stats(frames):
    """Median, 95th percentile and longest of ``frames`` (ms), and their number."""
    frames = sorted(frames)
    if not frames:
        return {"median": 0.0, "p95": 0.0, "max": 0.0, "count": 0}
    p95 = frames[int(len(frames) * 0.95) - 1] if len(frames) > 20 else frames[-1]
    return {"median": statistics.median(frames), "p95": p95, "max": frames[-1], "count": len(frames)}


def wait_painted(driver):
    """Until the frame after the drawing was built has run (``paintedAt`` set after ``drawnAt``)."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 60, poll_frequency=0.02).until(
        lambda d: d.execute_script(
            "const s = window.ffGraph.state; return s.paintedAt !== null && s.paintedAt >= s.drawnAt;"
        )
    )


def bench_browser(driver, server, flow, pan_seconds):
    """One opening of ``flow``'s drawing, then "expand all" and panning: numbers (ms) by measure."""
    url = f"{server.url}{reverse('admin:flowforge_admin_flow_graph', args=[flow.pk])}"
    driver.get(url)
    wait_state(driver, "drawn")
    wait_painted(driver)
    first = driver.execute_script(
        "const s = window.ffGraph.state; return [s.fetchedAt, s.layoutMs, s.buildMs, s.drawnAt, s.paintedAt];"
    )
    opened = driver.execute_script(
        "const cy = window.ffGraph.cy; return [cy.nodes().length, cy.edges().length, window.ffGraph.state.collapsed.size];"
    )
    # False when every graph was a simple chain, placed without ELK (layout.js placeChain).
    elk_used = [driver.execute_script("return window.ffGraph.state.layoutByElk;")]
    driver.execute_script(FRAME_RECORDER)
    started = driver.execute_script("return performance.now();")
    driver.execute_script(
        "document.getElementById('content-main').dataset.state = 'waiting';"
        "window.ffGraph.setAllCollapsed(false);"
    )
    wait_state(driver, "drawn", timeout=300)
    wait_painted(driver)
    expanded = driver.execute_script(
        "const s = window.ffGraph.state; return [s.layoutMs, s.buildMs, s.drawnAt, s.paintedAt];"
    )
    elk_used.append(driver.execute_script("return window.ffGraph.state.layoutByElk;"))
    driver.execute_script("window.ffStopFrames = true;")
    frames = frame_stats(driver.execute_script("return window.ffFrames;"))
    full = driver.execute_script(
        "const cy = window.ffGraph.cy; return [cy.nodes().length, cy.edges().length];"
    )
    driver.set_script_timeout(pan_seconds + 30)
    driver.execute_script("window.ffGraph.cy.zoom(0.6);")
    pan = frame_stats(driver.execute_async_script(PAN, pan_seconds * 1000))
    return {
        "opened with (nodes, edges, collapsed groups)": opened,
        "fully expanded (nodes, edges)": full,
        "ELK needed (first drawing, expand all)": elk_used,
        "first drawing: JSON read at": first[0],
        "first drawing: layout": first[1],
        "first drawing: cytoscape build": first[2],
        "first drawing: drawn at": first[3],
        "first drawing: first frame at": first[4],
        "expand all: layout": expanded[0],
        "expand all: cytoscape build": expanded[1],
        "expand all: until drawn": expanded[2] - started,
        "expand all: until painted": expanded[3] - started,
        "expand all: longest main-thread frame": frames["max"],
        "expand all: frames over 100 ms": sum(
            1 for f in driver.execute_script("return window.ffFrames;") if f > 100
        ),
        "panning: median frame": pan["median"],
        "panning: p95 frame": pan["p95"],
        "panning: longest frame": pan["max"],
    }


def summarise(results):
    """``results`` (one dict per opening) as lines: the median and range of each measure."""
    lines = []
    for key in results[0]:
        values = [result[key] for result in results]
        if isinstance(values[0], list):
            lines.append(f"- {key}: {values[0]}")
            continue
        unit = "" if key.endswith("100 ms") else " ms"
        median = statistics.median(values)
        lines.append(
            f"- {key}: median {median:.0f}{unit} (range {min(values):.0f}-{max(values):.0f}, {len(values)} runs)"
        )
    return lines


def make_mapped_run(flow, instances):
    """A run of the mapped flow whose mapped task has ``instances`` instances (written directly)."""
    run = make_run(flow)
    statuses = ["succeeded"] * 7 + ["failed", "running", "queued"]
    now = timezone.now()
    TaskRun.objects.bulk_create(
        TaskRun(
            run=run,
            task_name=f"train[{i}]",
            map_index=i,
            status=statuses[i % 10],
            attempt=1,
            started_at=now,
            finished_at=now,
        )
        for i in range(instances)
    )
    return run


def open_mapped(driver, server, run):
    """Open the run graph on its mapped task; return (drawn at, instance list fetched at), ms from navigation."""
    driver.get(f"{server.url}{reverse('admin:flowforge_admin_flowrun_graph', args=[run.pk])}#task=train")
    wait_state(driver, "drawn")
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 60, poll_frequency=0.05).until(
        lambda d: d.execute_script(
            "const box = document.getElementById('ff-graph-instances');"
            "return box && box.dataset.state === 'shown' && box.querySelectorAll('tbody tr').length > 0;"
        )
    )
    return driver.execute_script(
        "const list = performance.getEntriesByType('resource').filter((e) => e.name.includes('/graph/instances/'));"
        "return [window.ffGraph.state.drawnAt, list.length ? list[0].responseEnd : null];"
    )


def bench_mapped(client, instances, repeat):
    """The mapped task's run graph with ``instances`` instances against 3 (JSON, then Chromium)."""
    from flowforge_admin.api import register_task_pipeline

    Flow.objects.filter(name="bench_mapped_graph").delete()
    flow = register_task_pipeline(
        "bench_mapped_graph",
        {
            "grid": {"function": FUNCTION},
            "train": {"function": FUNCTION, "depends_on": ["grid"], "map_over": "grid"},
            "best": {"function": FUNCTION, "depends_on": ["train"]},
        },
    )
    runs = {count: make_mapped_run(flow, count) for count in (instances, 3)}
    print(f"\n## A mapped task of {instances} instances against 3 (JSON, median of {repeat})")
    for count, run in runs.items():
        data_url = reverse("admin:flowforge_admin_flowrun_graph_data", args=[run.pk])
        pages_url = reverse("admin:flowforge_admin_flowrun_graph_instances", args=[run.pk])
        for label, url in [
            ("run graph JSON", data_url),
            ("statuses (the live poll)", f"{data_url}?statuses=1"),
            ("instances, page 1", f"{pages_url}?task=train&page=1"),
        ]:
            median, slowest, queries, length = time_json(client, url, repeat)
            print(
                f"- {label}, {count} instances: median {median:.1f} ms, max {slowest:.1f} ms, "
                f"{queries} queries, {length / 1024:.1f} KB"
            )
    server = Server()
    driver = chromium()
    try:
        log_in(driver, server)
        print(f"\n## Headless Chromium: the run graph opened on the mapped task (median of {repeat})")
        # Warmed up (static files cached, ELK's worker compiled), then the two runs in turn:
        # measured one after the other, the first measured was the slower, whichever it was.
        for run in [*runs.values()] * 2:
            open_mapped(driver, server, run)
        times = {count: [] for count in runs}
        for _ in range(repeat):
            for count, run in runs.items():
                times[count].append(open_mapped(driver, server, run))
        for count, found in times.items():
            drawn = statistics.median(t[0] for t in found)
            listed = statistics.median(t[1] for t in found)
            print(f"- {count} instances: drawn at {drawn:.0f} ms, instance list fetched at {listed:.0f} ms")
    finally:
        driver.quit()
        server.stop()


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--group-size", type=int, default=20)
    parser.add_argument(
        "--forks",
        action="store_true",
        help="every fifth task of a group also after the task two before it: no group is a chain,"
        " so ELK lays every group out (without it, the page places the chains without ELK)",
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pan-seconds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3, help="openings of each drawing in Chromium")
    parser.add_argument(
        "--mapped", type=int, metavar="N", help="measure a mapped task of N instances instead"
    )
    args = parser.parse_args()

    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    User.objects.filter(username="bench").delete()
    User.objects.create_superuser("bench", password=PASSWORD)
    if args.mapped:
        client = Client()
        client.force_login(User.objects.get(username="bench"))
        bench_mapped(client, args.mapped, args.repeat)
        return
    flows = {}
    for size in args.sizes:
        Flow.objects.filter(name=f"bench_{size}").delete()
        started = time.perf_counter()
        flows[size] = make_flow(size, args.group_size, args.forks)
        print(f"made a flow of {size} tasks in {time.perf_counter() - started:.1f} s")

    client = Client()
    client.force_login(User.objects.get(username="bench"))
    print("\n## JSON endpoint (graph/data/)")
    for size, flow in flows.items():
        run_url = reverse("admin:flowforge_admin_flowrun_graph_data", args=[make_run(flow).pk])
        for label, url in [
            ("definition of", reverse("admin:flowforge_admin_flow_graph_data", args=[flow.pk])),
            ("run of", run_url),
            ("run statuses only (the live poll),", f"{run_url}?statuses=1"),
        ]:
            median, slowest, queries, length = time_json(client, url, args.repeat)
            print(
                f"- {label} {size} tasks: median {median:.0f} ms, max {slowest:.0f} ms, "
                f"{queries} queries, {length // 1024} KB"
            )

    server = Server()
    driver = chromium()
    try:
        log_in(driver, server)
        print("\n## Headless Chromium")
        for size, flow in flows.items():
            print(f"### {size} tasks")
            results = [bench_browser(driver, server, flow, args.pan_seconds) for _ in range(args.runs)]
            print("\n".join(summarise(results)), flush=True)
    finally:
        driver.quit()
        server.stop()


if __name__ == "__main__":
    main()
