/*
 * The drawing as a file: PNG from cytoscape, SVG written here (cytoscape-svg is
 * GPL-3.0, see vendor/README.md). Both take the theme's background.
 */

import { el } from "./dom.js";
import { cssVar } from "./palette.js";
import { STACK_OFFSET } from "./stack.js";

export function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  // The browser reads the blob after click() returns: revoke it a while later.
  setTimeout(() => URL.revokeObjectURL(url), 5000);
}

/** "<flow>.<ext>", or "<flow>-run-<id>.<ext>" for a run. */
export function exportName(ctx, ext) {
  const data = ctx.model.data;
  const flow = data.flow.name || "flow";
  return ctx.view === "run" ? `${flow}-run-${data.run.id}.${ext}` : `${flow}.${ext}`;
}

export function pngBlob(cy) {
  return cy.png({ output: "blob", full: true, scale: 2, maxWidth: 8000, maxHeight: 8000, bg: cssVar("--body-bg") });
}

function escapeXml(text) {
  return String(text).replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function ownBox(node) {
  const { x, y } = node.position();
  const w = node.width();
  const h = node.height();
  return { x1: x - w / 2, y1: y - h / 2, x2: x + w / 2, y2: y + h / 2, w, h };
}

function nodeSvg(node) {
  const style = (prop) => node.style(prop);
  const mapped = node.hasClass("mapped");
  // A mapped node's bounds reach over its stack (bounds-expansion): its box is its own size.
  const b = mapped ? ownBox(node) : node.boundingBox({ includeLabels: false, includeOverlays: false });
  const dash = { dashed: ' stroke-dasharray="6 4"', dotted: ' stroke-dasharray="2 3"' }[style("border-style")] || "";
  const parts = [
    `<rect x="${b.x1}" y="${b.y1}" width="${b.w}" height="${b.h}" rx="6" fill="${style("background-color")}" fill-opacity="${style("background-opacity")}" stroke="${style("border-color")}" stroke-width="${parseFloat(style("border-width"))}"${dash}/>`,
  ];
  if (mapped) {
    // The stack and the bar: the image cytoscape draws (stack.js), over the box's area and above it.
    const d = STACK_OFFSET;
    parts.push(
      `<image x="${b.x1}" y="${b.y1 - 2 * d}" width="${b.w + 2 * d}" height="${b.h + 2 * d}" href="${style("background-image")}"/>`,
    );
  }
  const lines = String(node.data("label")).split("\n");
  // As drawn: a group's label above its top-left corner, a task's in its middle.
  const compound = node.isParent();
  const y0 =
    (compound ? b.y1 - 5 : (b.y1 + b.y2) / 2 - ((lines.length - 1) * 15) / 2 + 4) +
    (mapped ? parseFloat(style("text-margin-y")) || 0 : 0);
  const x = compound ? b.x1 + 2 : (b.x1 + b.x2) / 2;
  const anchor = compound ? "start" : "middle";
  lines.forEach((line, i) => {
    parts.push(
      `<text x="${x}" y="${y0 + i * 15}" text-anchor="${anchor}" fill="${style("color")}"${compound ? ' font-weight="bold"' : ""}>${escapeXml(line)}</text>`,
    );
  });
  return parts;
}

/** An SVG of what is drawn: boxes, labels and straight arrows, in cytoscape's coordinates. */
export function svgText(cy) {
  const box = cy.elements().boundingBox();
  const pad = 20;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="${box.x1 - pad} ${box.y1 - pad} ${box.w + 2 * pad} ${box.h + 2 * pad}" width="${Math.round(box.w + 2 * pad)}" height="${Math.round(box.h + 2 * pad)}" font-family="system-ui, sans-serif" font-size="12">`,
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="context-stroke"/></marker></defs>`,
    `<rect x="${box.x1 - pad}" y="${box.y1 - pad}" width="${box.w + 2 * pad}" height="${box.h + 2 * pad}" fill="${cssVar("--body-bg")}"/>`,
  ];
  // Parents first: a group's box lies under its tasks.
  const nodes = cy.nodes().sort((a, b) => a.ancestors().length - b.ancestors().length);
  nodes.forEach((node) => parts.push(...nodeSvg(node)));
  cy.edges().forEach((edge) => {
    const s = edge.sourceEndpoint();
    const t = edge.targetEndpoint();
    parts.push(
      `<line x1="${s.x}" y1="${s.y}" x2="${t.x}" y2="${t.y}" stroke="${edge.style("line-color")}" stroke-width="${parseFloat(edge.style("width"))}" marker-end="url(#arrow)"/>`,
    );
  });
  parts.push("</svg>");
  return parts.join("\n");
}
