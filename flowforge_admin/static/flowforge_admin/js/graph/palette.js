/*
 * The drawing's colours, read from the admin's CSS custom properties: the status
 * palette (admin.css, --ff-status-<state> and its -fg) and Django admin's own
 * theme variables. There is no colour table here on purpose: badges, grid, chart
 * and drawing read the one palette, so they always agree, in either theme.
 */

/** An icon and a border per status, so that colour is never the only cue. */
export const STATUS_MARKS = {
  pending: { icon: "○", border: "dashed" },
  queued: { icon: "◔", border: "solid" },
  running: { icon: "▶", border: "solid" },
  retrying: { icon: "↻", border: "solid" },
  waiting: { icon: "◷", border: "dashed" },
  succeeded: { icon: "✓", border: "solid" },
  failed: { icon: "✗", border: "double" },
  upstream_failed: { icon: "⊘", border: "dashed" },
  cancelled: { icon: "■", border: "dotted" },
};

export const STATUSES = Object.keys(STATUS_MARKS);

export function marksOf(status) {
  return STATUS_MARKS[status] || STATUS_MARKS.pending;
}

/** A custom property's current value (it changes with the theme: read it when drawing). */
export function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** A status's fill and text colours from the palette. */
export function statusColours(status) {
  return { fill: cssVar(`--ff-status-${status}`), text: cssVar(`--ff-status-${status}-fg`) };
}

/** The admin's theme colours the drawing uses besides the statuses. */
export function themeColours() {
  return {
    fg: cssVar("--body-fg"),
    bg: cssVar("--body-bg"),
    quiet: cssVar("--body-quiet-color"),
    border: cssVar("--border-color"),
    darkened: cssVar("--darkened-bg"),
    accent: cssVar("--link-fg"),
    match: cssVar("--ff-graph-match"),
  };
}

/**
 * Call ``callback`` whenever the colours may have changed: Django's theme switch sets
 * data-theme on <html>, and with the "auto" theme the system's scheme decides.
 */
export function onThemeChange(callback) {
  new MutationObserver(callback).observe(document.documentElement, {
    attributes: true,
    attributeFilter: ["data-theme"],
  });
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", callback);
}
