/* Follows a running task's log: polls the page's lines URL for the lines
   after the last one shown, appends them, and stops once the attempt has
   finished. Everything it needs comes from data-* attributes of the page
   (no inline script), and lines are added as text, never as HTML. */
"use strict";

(function () {
  const root = document.querySelector("[data-ff-log]");
  if (!root || root.dataset.follow !== "1") {
    return;
  }
  const table = document.getElementById("ff-log-lines");
  const body = table.tBodies[0];
  const live = root.querySelector("[data-ff-live]");
  const empty = root.querySelector("[data-ff-empty]");
  const statusCell = root.querySelector("[data-ff-status]");
  const durationCell = root.querySelector("[data-ff-duration]");
  const attemptCell = root.querySelector("[data-ff-attempt]");
  const pollMs = Number(root.dataset.pollMs) || 1500;
  const maxRows = Number(root.dataset.maxRows) || 5000;
  const search = root.dataset.search || "";
  let after = Number(root.dataset.after) || 0;
  let attempt = Number(root.dataset.attempt) || 0;
  // The worker may write an attempt's last lines just after its status
  // changes: after "finished", ask once more before stopping.
  let sawFinished = false;

  function linesUrl() {
    const url = new URL(root.dataset.linesUrl, window.location.href);
    url.searchParams.set("after", String(after));
    if (attempt) {
      url.searchParams.set("attempt", String(attempt));
    }
    return url;
  }

  function pageUrl(params) {
    const url = new URL(window.location.href);
    url.searchParams.delete("before");
    url.searchParams.delete("after");
    for (const [key, value] of Object.entries(params)) {
      url.searchParams.set(key, String(value));
    }
    return url.toString();
  }

  function atBottom() {
    const page = document.documentElement;
    return window.innerHeight + window.scrollY >= page.scrollHeight - 40;
  }

  function appendText(cell, text) {
    // Marks the search matches, as the server does for the first page.
    if (!search) {
      cell.textContent = text;
      return;
    }
    const lower = text.toLowerCase();
    const needle = search.toLowerCase();
    let start = 0;
    let found = lower.indexOf(needle);
    while (found !== -1) {
      cell.append(text.slice(start, found));
      const mark = document.createElement("mark");
      mark.textContent = text.slice(found, found + needle.length);
      cell.append(mark);
      start = found + needle.length;
      found = lower.indexOf(needle, start);
    }
    cell.append(text.slice(start));
  }

  function cell(row, className, text) {
    const td = row.insertCell();
    td.className = className;
    appendText(td, text);
    return td;
  }

  function lineRow(line) {
    const row = document.createElement("tr");
    row.className = "ff-log-" + line.severity;
    row.dataset.id = String(line.id);
    const time = document.createElement("time");
    time.dateTime = line.time;
    const date = document.createElement("span");
    date.className = "ff-log-date";
    date.textContent = line.time.slice(0, 10);
    time.append(date, " " + line.time.slice(11, 23));
    row.insertCell().append(time);
    row.cells[0].className = "ff-log-time";
    row.insertCell().className = "ff-log-level";
    row.cells[1].textContent = line.level;
    row.insertCell().className = "ff-log-source";
    row.cells[2].textContent = line.source;
    row.cells[2].title = line.source;
    const message = row.insertCell();
    message.className = "ff-log-message";
    appendText(message, line.message);
    return row;
  }

  function trim() {
    // A task may log for hours: keep the page light, and link to what left it.
    const extra = body.rows.length - maxRows;
    if (extra <= 0) {
      return;
    }
    for (let i = 0; i < extra; i++) {
      body.rows[0].remove();
    }
    const first = body.rows[0].dataset.id;
    for (const link of root.querySelectorAll("[data-ff-page=older]")) {
      link.href = pageUrl({ before: first });
      link.hidden = false;
    }
    for (const link of root.querySelectorAll("[data-ff-page=first]")) {
      link.href = pageUrl({ after: 0 });
      link.hidden = false;
    }
  }

  function append(lines) {
    if (!lines.length) {
      return;
    }
    const stick = atBottom();
    const fragment = document.createDocumentFragment();
    for (const line of lines) {
      fragment.append(lineRow(line));
    }
    body.append(fragment);
    table.hidden = false;
    empty.hidden = true;
    trim();
    if (stick) {
      window.scrollTo(0, document.documentElement.scrollHeight);
    }
  }

  function showStatus(data) {
    const badge = document.createElement("span");
    badge.className = "ff-status ff-status-" + data.status;
    badge.textContent = data.status_label;
    statusCell.replaceChildren(badge);
    durationCell.textContent = data.duration;
  }

  function say(text, state) {
    live.hidden = false;
    live.dataset.state = state;
    live.textContent = text;
  }

  function finish(data) {
    say(root.dataset.msgFinished, "finished");
    if (data.attempt > 0 && data.current_attempt > data.attempt) {
      const link = document.createElement("a");
      link.href = pageUrl({ attempt: data.current_attempt });
      link.textContent = root.dataset.msgNewAttemptLink.replace("{n}", data.current_attempt);
      live.append(" ", link);
    }
  }

  function showAttempt(data) {
    attemptCell.textContent = root.dataset.msgAttempt
      .replace("{n}", data.attempt)
      .replace("{m}", data.current_attempt);
  }

  async function poll() {
    if (document.hidden) {
      // Nobody reads it now; catch up when the tab is shown again.
      document.addEventListener("visibilitychange", poll, { once: true });
      return;
    }
    let data;
    try {
      const response = await fetch(linesUrl(), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (response.redirected || response.status === 403) {
        say(root.dataset.msgLogin, "error");
        return;
      }
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      data = await response.json();
    } catch (error) {
      say(root.dataset.msgError, "error");
      window.setTimeout(poll, pollMs * 2);
      return;
    }
    if (!attempt && data.attempt) {
      // The task started while the page was open: follow that attempt.
      attempt = data.attempt;
      showAttempt(data);
    }
    append(data.lines);
    after = data.last_id;
    showStatus(data);
    if (data.finished && sawFinished && !data.lines.length) {
      finish(data);
      return;
    }
    sawFinished = data.finished;
    if (live.dataset.state !== "following") {
      say(root.dataset.msgFollowing, "following");
    }
    window.setTimeout(poll, data.more ? 0 : pollMs);
  }

  say(root.dataset.msgFollowing, "following");
  if (body.rows.length) {
    window.scrollTo(0, document.documentElement.scrollHeight);
  }
  window.setTimeout(poll, pollMs);
})();
