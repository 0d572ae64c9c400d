/*
 * A mapped task's look: one node, with two cards peeking out behind it (a stack) and,
 * in a run, a bar of its instances' statuses. Cytoscape has no shape for that, so it
 * is one SVG image per node, drawn as the node's background over a wider area than the
 * node (background-clip: none): the cards outside the node's box, the bar inside it.
 * The image is the same whatever the number of instances (a count per status), so a
 * task of 1 000 instances draws as fast as one of 3. Colours come from the palette,
 * passed in by the stylesheet, which is rebuilt when the theme changes.
 */

import { STATUSES } from "./palette.js";

// How far each card behind is offset, up and right (px at zoom 1).
export const STACK_OFFSET = 5;
// Room kept at the node's bottom for the bar, and the bar's own height and side margins.
export const BAR_ROOM = 10;
const BAR_HEIGHT = 5;
const BAR_MARGIN = 12;
// A status with any instance gets at least this many px, so that 1 failed of 1 000 shows.
const MIN_SEGMENT = 3;
// Cytoscape's corner of a round-rectangle: min(w / 4, h / 4, 8).
const radius = (width, height) => Math.min(width / 4, height / 4, 8);

/** Widths of the bar's segments for ``byStatus`` ({status: count}), in palette order, summing to ``width``. */
export function segments(byStatus, width) {
  const parts = STATUSES.filter((status) => (byStatus[status] || 0) > 0).map((status) => ({
    status,
    count: byStatus[status],
  }));
  const total = parts.reduce((sum, part) => sum + part.count, 0);
  if (!total) return [];
  for (const part of parts) part.width = Math.max(MIN_SEGMENT, (part.count / total) * width);
  // What the minimums added is taken from the widest segment.
  const excess = parts.reduce((sum, part) => sum + part.width, 0) - width;
  if (excess > 0) parts.reduce((a, b) => (b.width > a.width ? b : a)).width -= excess;
  return parts;
}

const rect = (x, y, w, h, attrs) =>
  `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}" ${attrs}/>`;

/**
 * The SVG (as text) over the box from the node's left edge to ``STACK_OFFSET * 2`` right
 * of it, and from ``STACK_OFFSET * 2`` above it to its bottom. ``look``: the cards' fill and
 * stroke, the bar's track colour and each status's fill; ``byStatus``: null for no bar.
 */
export function stackSvg(width, height, look, byStatus) {
  const d = STACK_OFFSET;
  const r = radius(width, height);
  const W = width + 2 * d;
  const H = height + 2 * d;
  const card = (x, y, opacity) =>
    rect(x, y, width, height, `rx="${r}" fill="${look.fill}" fill-opacity="${opacity}" stroke="${look.stroke}" stroke-width="1.2"`);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`,
    // The node's own box stays clear: the node's fill, border and label are cytoscape's.
    `<mask id="m"><rect width="${W}" height="${H}" fill="white"/>${rect(0, 2 * d, width, height, `rx="${r}" fill="black"`)}</mask>`,
    `<g mask="url(#m)">${card(2 * d, 0, 0.55)}${card(d, d, 0.8)}</g>`,
  ];
  if (byStatus) {
    const barWidth = width - 2 * BAR_MARGIN;
    const y = 2 * d + height - BAR_ROOM + (BAR_ROOM - BAR_HEIGHT) / 2 - 2;
    // A track in the page's background colour, so that the bar shows on any status's fill.
    parts.push(rect(BAR_MARGIN - 1.5, y - 1.5, barWidth + 3, BAR_HEIGHT + 3, `rx="2" fill="${look.track}"`));
    let x = BAR_MARGIN;
    for (const part of segments(byStatus, barWidth)) {
      parts.push(rect(x, y, part.width, BAR_HEIGHT, `fill="${look.statuses[part.status]}"`));
      x += part.width;
    }
  }
  parts.push("</svg>");
  return parts.join("");
}

/**
 * The cytoscape style of mapped nodes: the stack image, from ``data(width, height, status, bar)``.
 * ``colours``: the theme's fg, bg and accent and each status's fill (``statuses``).
 */
export function stackStyle(colours) {
  const image = (ele) => {
    const status = ele.data("status");
    // In a run the cards take the task's status colour, in a definition the node's own.
    const look = {
      fill: status ? colours.statuses[status] : colours.bg,
      stroke: status ? colours.fg : colours.accent,
      track: colours.bg,
      statuses: colours.statuses,
    };
    const svg = stackSvg(ele.data("width"), ele.data("height"), look, ele.data("bar") || null);
    return `data:image/svg+xml;base64,${window.btoa(svg)}`;
  };
  return {
    "background-image": image,
    "background-image-containment": "over",
    "background-clip": "none",
    "background-fit": "none",
    "background-width": (ele) => ele.data("width") + 2 * STACK_OFFSET,
    "background-height": (ele) => ele.data("height") + 2 * STACK_OFFSET,
    "background-position-x": 0,
    "background-position-y": 0,
    "background-offset-y": -2 * STACK_OFFSET,
    "bounds-expansion": 2 * STACK_OFFSET,
  };
}
