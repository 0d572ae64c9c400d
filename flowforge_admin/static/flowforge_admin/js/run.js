/* The run page follows its run: it fetches the live view every 1.5 s while
   the run is not finished and swaps in the parts that changed. It sends back
   the marker of the last answer, and gets only the task rows changed since
   (or the whole table when there is no marker or the page's rows changed).
   A task row the user is working in (a Mark or Clear form open, a field focused) is
   left alone until the user leaves it. */
"use strict";
(function () {
  const POLL_MS = 1500;

  // A form's data-confirm, or its pressed button's (Mark: succeeded or failed).
  function confirmSubmits(root) {
    root.addEventListener("submit", function (event) {
      const button = event.submitter;
      const message = (button && button.dataset.confirm) || event.target.dataset.confirm;
      if (message && !window.confirm(message)) {
        event.preventDefault();
      }
    });
  }

  function isBusy(row) {
    return row.contains(document.activeElement) || row.querySelector("details.ff-mark[open], details.ff-clear[open]") !== null;
  }

  function openDetails(row) {
    return Array.from(row.querySelectorAll("details[open]")).map(function (d) { return d.className; });
  }

  function parse(html) {
    const fresh = document.createElement("template");
    fresh.innerHTML = html;
    return fresh.content;
  }

  function rowIds(root) {
    return Array.from(root.querySelectorAll("tbody > tr[id]")).map(function (row) { return row.id; }).join(" ");
  }

  function replaceRow(current, row, lastHtml) {
    const open = openDetails(current);
    open.forEach(function (name) {
      const details = row.querySelector("details." + name.split(" ").join("."));
      if (details) { details.open = true; }
    });
    const opened = current.querySelector(".ff-instances-toggle[aria-expanded='true']");
    current.replaceWith(row);
    lastHtml.set(row.id, row.outerHTML);
    // A mapped task's row changes when its instances do: its open list follows.
    if (opened) { showInstances(row.querySelector(".ff-instances-toggle"), null, false); }
  }

  // A mapped task's instances: the row's summary opens (and closes) a paged
  // list fetched into the row after it; without scripts it is a link to the
  // task run list.
  function instancesBody(toggle) {
    return document.getElementById(toggle.getAttribute("aria-controls"));
  }

  function showInstances(toggle, pageNumber, asked) {
    const body = toggle && instancesBody(toggle);
    if (!body) { return; }
    toggle.setAttribute("aria-expanded", "true");
    body.closest("tr").hidden = false;
    if (!asked && isBusy(body)) { return; }  // a Mark or Clear form open in it: keep it
    const page = pageNumber || body.dataset.page || "1";
    fetch(toggle.dataset.fragment + "?page=" + encodeURIComponent(page), { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (html) {
        body.innerHTML = html;
        body.dataset.page = page;
      })
      .catch(function () {
        body.textContent = "The instances could not be loaded; open them as a list instead.";
      });
  }

  function followInstances(root) {
    root.addEventListener("click", function (event) {
      const toggle = event.target.closest(".ff-instances-toggle");
      const pageLink = event.target.closest(".ff-instance-pages a[data-page]");
      if (toggle) {
        event.preventDefault();
        if (toggle.getAttribute("aria-expanded") === "true") {
          toggle.setAttribute("aria-expanded", "false");
          instancesBody(toggle).closest("tr").hidden = true;
        } else {
          showInstances(toggle, null, true);
        }
      } else if (pageLink) {
        event.preventDefault();
        const body = pageLink.closest(".ff-instances-body");
        const owner = document.querySelector(".ff-instances-toggle[aria-controls='" + CSS.escape(body.id) + "']");
        showInstances(owner, pageLink.dataset.page, true);
      }
    });
  }

  // The whole table of the page.
  function swapRows(container, html, lastHtml, waiting) {
    const fresh = parse(html);
    const nav = container.querySelector(".ff-task-nav");
    const freshNav = fresh.querySelector(".ff-task-nav");
    waiting.clear();
    if (rowIds(fresh) !== rowIds(container) || !nav !== !freshNav) {
      container.innerHTML = html;  // other rows: redraw it all
      return;
    }
    if (nav && nav.outerHTML !== freshNav.outerHTML) { nav.replaceWith(freshNav); }
    fresh.querySelectorAll("tbody > tr[id]").forEach(function (row) {
      const current = document.getElementById(row.id);
      if (!current || lastHtml.get(row.id) === row.outerHTML) {
        return;
      }
      if (isBusy(current)) {
        waiting.set(row.id, row);
        return;
      }
      replaceRow(current, row, lastHtml);
    });
  }

  // The rows changed since the last answer; a row the user is busy in waits
  // (in ``waiting``) for a later poll, as no later answer will send it again.
  function patchRows(html, lastHtml, waiting) {
    parse(html).querySelectorAll("tbody > tr[id]").forEach(function (row) { waiting.set(row.id, row); });
    waiting.forEach(function (row, id) {
      const current = document.getElementById(id);
      if (current && isBusy(current)) { return; }
      if (current) { replaceRow(current, row, lastHtml); }
      waiting.delete(id);
    });
  }

  // The durations of running tasks grow between their changes.
  function setDurations(durations) {
    Object.keys(durations).forEach(function (id) {
      const row = document.getElementById(id);
      const cell = row && row.querySelector(".ff-duration");
      if (cell && cell.textContent !== durations[id]) { cell.textContent = durations[id]; }
    });
  }

  function swapWhole(container, html, lastHtml) {
    if (lastHtml.get(container.id) !== html) {
      container.innerHTML = html;
      lastHtml.set(container.id, html);
    }
  }

  // The live view's address: the page and filter shown, and the marker to go on from.
  function liveUrl(base, since, pageKey) {
    const shown = new URLSearchParams(window.location.search);
    const query = new URLSearchParams();
    ["tasks", "task_status"].forEach(function (name) {
      if (shown.has(name)) { query.set(name, shown.get(name)); }
    });
    if (since) {
      query.set("since", since);
      query.set("page", pageKey);
    }
    return base + "?" + query.toString();
  }

  function start(page) {
    const url = page.dataset.liveUrl;
    const summary = document.getElementById("ff-run-summary");
    const tasks = document.getElementById("ff-run-tasks");
    const chart = document.getElementById("ff-run-chart");
    const lastHtml = new Map();
    const waiting = new Map();
    let since = page.dataset.since || "";
    let pageKey = page.dataset.pageKey || "";

    function poll() {
      fetch(liveUrl(url, since, pageKey), { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (data) {
          swapWhole(summary, data.html.summary, lastHtml);
          if (data.full) {
            swapRows(tasks, data.html.tasks, lastHtml, waiting);
          } else {
            patchRows(data.html.rows || "", lastHtml, waiting);
          }
          setDurations(data.durations);
          swapWhole(chart, data.html.chart, lastHtml);
          since = data.since;
          pageKey = data.page;
          page.dataset.since = since;
          page.dataset.status = data.status;
          if (data.more) {
            window.setTimeout(poll, 0);  // more changed rows wait
            return;
          }
          if (data.finished) {
            page.dataset.finished = "true";
            return;
          }
          window.setTimeout(poll, POLL_MS);
        })
        .catch(function () {
          // A restart of the server or a lost connection: try again, slower.
          window.setTimeout(poll, POLL_MS * 4);
        });
    }
    window.setTimeout(poll, POLL_MS);
  }

  document.addEventListener("DOMContentLoaded", function () {
    const page = document.querySelector(".ff-run-page[data-live-url]");
    if (!page) { return; }
    confirmSubmits(page);
    followInstances(page);
    if (page.dataset.finished !== "true") { start(page); }
  });
})();
