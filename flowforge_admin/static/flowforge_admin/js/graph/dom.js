/* A small element builder: the panel, the legend and the table are built from data, never from HTML strings. */

/** ``<tag attrs>children</tag>``: ``text`` sets the text, ``on<event>`` adds a listener. */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "className") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

/** A status badge, coloured by the palette's classes (admin.css). */
export function statusBadge(status) {
  return el("span", { className: `ff-status ff-status-${status.status}`, text: status.label });
}
