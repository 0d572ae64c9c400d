/*
 * The side panel: everything known about the selected task (its status in a run,
 * its definition, links to its neighbours, logs and edit page, and Clear). Its buttons call
 * back through ``ctx.commands`` (select, toggleGroup), so this module needs no
 * import of the interaction that opens it.
 */

import { el, statusBadge } from "./dom.js";
import { instancesSection, instancesSummary } from "./instances.js";

/*
 * Output previews, fetched when a task is shown (its entry in the polled JSON carries only
 * the output's type and size: previews of every task in each poll would weigh far more).
 * Keyed by task run and attempt end, so the panel, redrawn at each poll, does not fetch again.
 * A preview is the HTML of the admin's one output template (outputs/_preview.html, escaped
 * by Django), the same the run page and the log page show.
 */
const previews = new Map();

function fillPreview(box, html) {
  if (html === null) {
    box.replaceChildren(el("p", { className: "ff-muted", text: "The preview could not be loaded." }));
    return;
  }
  const template = document.createElement("template");
  template.innerHTML = html;
  box.replaceChildren(template.content);
}

async function fetchPreview(ctx, key, url, name) {
  let html = null;
  try {
    const response = await fetch(url, { credentials: "same-origin" });
    if (response.ok) {
      const data = await response.json();
      html = data.output ? data.output.html : "";
      previews.set(key, html);
    }
  } catch (error) {
    // A dropped connection: the next redraw of the panel asks again.
  }
  if (html === null) previews.delete(key);
  const box = document.getElementById("ff-graph-output");
  if (box && box.dataset.outputOf === name && ctx.state.selected === name) fillPreview(box, html);
}

function outputSection(ctx, name, status) {
  const { output } = status;
  const key = `${output.preview_url}@${status.attempt}@${status.finished_at || ""}`;
  const box = el("div", { id: "ff-graph-output", className: "ff-graph-output", "data-output-of": name });
  const cached = previews.get(key);
  if (typeof cached === "string") fillPreview(box, cached);
  else {
    box.append(el("p", { className: "ff-muted", text: "Loading the preview…" }));
    if (!previews.has(key)) {
      previews.set(key, undefined);
      fetchPreview(ctx, key, output.preview_url, name);
    }
  }
  return [
    el("h3", { text: "Output" }),
    el("p", { className: "ff-graph-output-summary" }, el("code", { text: output.type }), ` · ${output.size}`),
    box,
  ];
}

function taskLinks(ctx, names) {
  if (!names.length) return el("span", { className: "ff-muted", text: "—" });
  const list = el("ul", { className: "ff-graph-links" });
  for (const name of names) {
    const button = el("button", {
      type: "button",
      className: "ff-graph-linkbutton",
      text: ctx.model.tasks.get(name).label,
      title: name,
      onclick: () => ctx.commands.select(name),
    });
    list.append(el("li", {}, button));
  }
  return list;
}

function row(term, ...value) {
  return [el("dt", { text: term }), el("dd", {}, ...value)];
}

function block(text, className) {
  return el("pre", { className: className || "ff-graph-pre" }, el("code", { text }));
}

/**
 * A time as the admin writes it, "2026-12-05 07:36:28 UTC": in the server's time zone
 * (the JSON's time_zone), named, whatever the browser's own zone and locale.
 */
function fmtTime(value, zone) {
  if (!value) return "—";
  const format = new Intl.DateTimeFormat("en-GB", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
  const part = Object.fromEntries(format.formatToParts(new Date(value)).map(({ type, value: v }) => [type, v]));
  return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}:${part.second} ${zone}`;
}

function retriesText(task) {
  if (!task.retries) return "none";
  const delay = task.retry_delay ? `first after ${task.retry_delay} s, then doubling` : "at once";
  return `${task.retries} (${delay})`;
}

/** The task's facts (a list); a mapped task's: its run's, its instances, then its definition's. */
function facts(ctx, name) {
  const { model } = ctx;
  const task = model.tasks.get(name);
  const status = model.statuses[name];
  const zone = model.data.time_zone || "UTC";
  let list = el("dl", { className: "ff-graph-facts" });
  if (status) {
    list.append(...row("Status", statusBadge(status)));
    // A mapped task's own attempts mean nothing: each of its instances has its own.
    if (status.instances) list.append(...row("Instances", instancesSummary(ctx, status.instances)));
    else list.append(...row("Attempts", `${status.attempt} of ${status.max_attempts}`));
    list.append(...row("Started", fmtTime(status.started_at, zone)));
    list.append(...row("Finished", fmtTime(status.finished_at, zone)));
  }
  const parts = [list];
  if (status && status.instances) {
    // A mapped task's instances come next, before its definition: they are what one looks for.
    list = el("dl", { className: "ff-graph-facts" });
    parts.push(...instancesSection(ctx, name, status), el("h3", { text: "Definition" }), list);
  }
  if (task.parent) list.append(...row("Group", taskLinks(ctx, [task.parent])));
  if (model.isGroup(name)) {
    const toggle = el("button", {
      type: "button",
      className: "button ff-graph-toggle",
      text: model.collapsed.has(name) ? "Expand group" : "Collapse group",
      onclick: () => ctx.commands.toggleGroup(name),
    });
    list.append(...row("Group of", `${model.descendantCount(name)} tasks `, toggle));
  }
  list.append(...row("Function", task.function ? el("code", { text: task.function }) : "— (a group)"));
  list.append(...row("Retries", retriesText(task)));
  list.append(...row("Timeout", task.timeout ? `${task.timeout} s` : "the worker's limit"));
  list.append(...row("Queue", task.queue || "the project's cluster"));
  if (task.map_over) list.append(...row("Mapped over", `${task.map_over} (each item as ${task.map_param || "item"})`));
  list.append(...row("Upstream", taskLinks(ctx, model.upstreamOf(name))));
  list.append(...row("Downstream", taskLinks(ctx, model.downstreamOf(name))));
  return parts;
}

/* The statuses a task can be cleared from (states.TASK_FINISHED), as on the run page. */
const CLEARABLE = new Set(["succeeded", "failed", "upstream_failed", "cancelled"]);
/* The Clear form's choices survive the panel's redraw at each poll. */
const clearChoice = { openFor: null, downstream: true };

/**
 * Clear: the task (a group: its tasks) and, when ticked, what waits for it run again as new
 * attempts. An ordinary form POST (with the page's CSRF token); the answer sends the
 * browser back to this graph, with the message. Only in ``status.clear_url``'s presence:
 * the JSON carries it for users who may control runs.
 */
function clearForm(ctx, task, status) {
  if (!status || !status.clear_url || !CLEARABLE.has(status.status)) return null;
  const isGroup = ctx.model.isGroup(task.name);
  const question = isGroup
    ? `Clear group ${task.name}? Its tasks run again as new attempts.`
    : `Clear task ${task.name}? It runs again as a new attempt.`;
  const checkbox = el("input", { type: "checkbox", name: "downstream", value: "1", checked: clearChoice.downstream });
  checkbox.addEventListener("change", () => { clearChoice.downstream = checkbox.checked; });
  const form = el(
    "form",
    { method: "post", action: status.clear_url, className: "ff-graph-clear-form" },
    el("input", { type: "hidden", name: "csrfmiddlewaretoken", value: ctx.root.dataset.csrfToken || "" }),
    el("input", { type: "hidden", name: "back", value: "graph" }),
    el("input", { type: "hidden", name: "downstream", value: "0" }),
    el("label", { className: "ff-graph-clear-downstream" }, checkbox, " with the tasks downstream"),
    el("button", { type: "submit", className: "button", text: "Clear" }),
  );
  form.addEventListener("submit", (event) => {
    if (!window.confirm(question)) event.preventDefault();
  });
  const details = el(
    "details",
    { className: "ff-graph-clear", open: clearChoice.openFor === task.name },
    el("summary", { className: "button", text: "Clear…" }),
    form,
  );
  details.addEventListener("toggle", () => {
    if (details.open) clearChoice.openFor = task.name;
    else if (clearChoice.openFor === task.name) clearChoice.openFor = null;
  });
  return details;
}

function actions(task, status) {
  const links = el("p", { className: "ff-graph-actions" });
  if (status) links.append(el("a", { href: status.log_url, className: "button", text: "Logs" }));
  // A mapped task: all its instances in the task run list, with its filters and sorting.
  if (status && status.instances && status.instances.count) {
    links.append(el("a", { href: status.instances.url, className: "button", text: "Task run list" }));
  }
  if (task.edit_url) links.append(el("a", { href: task.edit_url, className: "button", text: "Edit task" }));
  links.append(
    el("button", {
      type: "button",
      className: "button",
      text: "Copy link",
      onclick: () => navigator.clipboard && navigator.clipboard.writeText(window.location.href),
    }),
  );
  return links;
}

/** Fill the panel with ``name``'s details and show it. */
export function showPanel(ctx, name) {
  const task = ctx.model.tasks.get(name);
  const status = ctx.model.statuses[name];
  const body = [];
  body.push(el("h2", { text: task.label }));
  body.push(el("p", { className: "ff-muted ff-graph-name" }, el("code", { text: task.name })));
  body.push(...facts(ctx, name));
  // What the run made of the task first: its error or its output, then its definition.
  if (status && status.error) body.push(el("h3", { text: "Error" }), block(status.error, "ff-graph-pre ff-graph-error"));
  if (status && status.output) body.push(...outputSection(ctx, name, status));
  if (task.docstring) body.push(el("h3", { text: "Description" }), block(task.docstring, "ff-graph-doc"));
  if (Object.keys(task.params).length) {
    body.push(el("h3", { text: "Default parameters" }), block(JSON.stringify(task.params, null, 2)));
  }
  if (task.source) {
    body.push(el("details", { className: "ff-graph-source" }, el("summary", { text: "Source code" }), block(task.source)));
  }
  body.push(actions(task, status));
  const clear = clearForm(ctx, task, status);
  if (clear) body.push(clear);
  document.getElementById("ff-graph-panel-body").replaceChildren(...body);
  ctx.panel.hidden = false;
  ctx.root.dataset.panel = name;
}
