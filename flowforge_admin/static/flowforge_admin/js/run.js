/* The run page follows its run: it fetches the live view every 1.5 s while
   the run is not finished and swaps in the parts that changed. A task row
   the user is working in (a Mark form open, a field focused) is left alone. */
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
    return row.contains(document.activeElement) || row.querySelector("details.ff-mark[open]") !== null;
  }

  function openDetails(row) {
    return Array.from(row.querySelectorAll("details[open]")).map(function (d) { return d.className; });
  }

  function swapRows(container, html, lastHtml) {
    const fresh = document.createElement("template");
    fresh.innerHTML = html;
    const freshRows = fresh.content.querySelectorAll("tbody > tr[id]");
    const table = container.querySelector("tbody");
    if (!table || table.children.length !== freshRows.length) {
      container.innerHTML = html;  // the shape changed: redraw it all
      return;
    }
    freshRows.forEach(function (row) {
      const current = document.getElementById(row.id);
      const text = row.outerHTML;
      if (!current || lastHtml.get(row.id) === text || isBusy(current)) {
        return;
      }
      const open = openDetails(current);
      open.forEach(function (name) {
        const details = row.querySelector("details." + name.split(" ").join("."));
        if (details) { details.open = true; }
      });
      current.replaceWith(row);
      lastHtml.set(row.id, text);
    });
  }

  function swapWhole(container, html, lastHtml) {
    if (lastHtml.get(container.id) !== html) {
      container.innerHTML = html;
      lastHtml.set(container.id, html);
    }
  }

  function start(page) {
    const url = page.dataset.liveUrl;
    const summary = document.getElementById("ff-run-summary");
    const tasks = document.getElementById("ff-run-tasks");
    const chart = document.getElementById("ff-run-chart");
    const lastHtml = new Map();

    function poll() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (data) {
          swapWhole(summary, data.html.summary, lastHtml);
          swapRows(tasks, data.html.tasks, lastHtml);
          swapWhole(chart, data.html.chart, lastHtml);
          page.dataset.status = data.status;
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
    if (page.dataset.finished !== "true") { start(page); }
  });
})();
