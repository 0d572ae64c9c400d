/*
 * The flow page's "Metrics across runs" chart: one line per metric name, one point per run
 * (its last value of that metric), drawn with the vendored Chart.js (window.Chart, loaded
 * as a classic script before this module). The data comes from the page's json_script
 * (admin/flow_metrics.py); the colours from the admin's CSS custom properties, read again
 * when the theme changes, so both themes read well.
 */
import { cssVar, onThemeChange } from "./graph/palette.js";

const SERIES_COLOURS = 8; // --ff-series-1 .. --ff-series-8 in admin.css

function colours() {
  return {
    fg: cssVar("--body-fg"),
    quiet: cssVar("--body-quiet-color"),
    grid: cssVar("--hairline-color"),
    bg: cssVar("--body-bg"),
    series: Array.from({ length: SERIES_COLOURS }, (_, i) => cssVar(`--ff-series-${i + 1}`)),
  };
}

// A dash per colour round, so that the 9th line differs from the 1st by more than colour.
const DASHES = [[], [6, 4], [2, 3]];

function datasets(data, palette) {
  return data.lines.map((line, i) => {
    const colour = palette.series[i % SERIES_COLOURS];
    return {
      label: line.name,
      data: line.values,
      borderColor: colour,
      backgroundColor: colour,
      borderDash: DASHES[Math.floor(i / SERIES_COLOURS) % DASHES.length],
      borderWidth: 2,
      pointRadius: 3,
      pointHoverRadius: 5,
      spanGaps: true,
      tension: 0,
    };
  });
}

/**
 * True when one line's range is small beside all the lines' range (an accuracy near a row count):
 * on one shared axis it would look flat, so each line then gets its own scale.
 */
export function needsOwnScales(lines) {
  const spans = lines
    .map((line) => line.values.filter((v) => v !== null))
    .filter((values) => values.length)
    .map((values) => [Math.min(...values), Math.max(...values)]);
  if (spans.length < 2) return false;
  const low = Math.min(...spans.map((s) => s[0]));
  const high = Math.max(...spans.map((s) => s[1]));
  const whole = high - low;
  return spans.some(([a, b]) => (b - a || Math.abs(b) || 1) * 5 < whole);
}

function axis(colour, palette, position, onChart) {
  return {
    position,
    grace: "5%",
    ticks: { color: colour },
    grid: { color: palette.grid, drawOnChartArea: onChart },
    border: { color: colour },
  };
}

/**
 * The y axes: one shared axis, or one per line ("own" scales), of which the first two visible
 * lines show theirs (left and right, in the line's colour); hover a point for any value.
 */
function yScales(chart, own, palette) {
  const scales = {};
  if (!own) {
    chart.data.datasets.forEach((dataset) => (dataset.yAxisID = "y"));
    scales.y = axis(palette.quiet, palette, "left", true);
    return scales;
  }
  let shown = 0;
  chart.data.datasets.forEach((dataset, i) => {
    const id = `y${i}`;
    dataset.yAxisID = id;
    const visible = chart.isDatasetVisible(i) && shown < 2;
    scales[id] = { ...axis(dataset.borderColor, palette, shown ? "right" : "left", !shown), display: visible };
    if (visible) shown += 1;
  });
  return scales;
}

function applyTheme(chart, palette, own) {
  chart.data.datasets.forEach((dataset, i) => {
    const colour = palette.series[i % SERIES_COLOURS];
    dataset.borderColor = colour;
    dataset.backgroundColor = colour;
  });
  const { plugins } = chart.options;
  // New plain objects each time (the chart's own options are proxies; do not reuse them).
  const x = {
    ticks: { autoSkip: true, maxRotation: 0, color: palette.quiet },
    grid: { color: palette.grid },
    border: { color: palette.quiet },
  };
  chart.options.scales = { x, ...yScales(chart, own, palette) };
  plugins.legend.labels.color = palette.fg;
  plugins.tooltip.backgroundColor = palette.fg;
  plugins.tooltip.titleColor = palette.bg;
  plugins.tooltip.bodyColor = palette.bg;
}

function draw(box, data) {
  const palette = colours();
  const runUrl = (id) => box.dataset.runUrl.replace("/0/", `/${id}/`);
  const toggle = box.parentElement.querySelector(".ff-own-scales");
  let own = needsOwnScales(data.lines);
  const chart = new window.Chart(box.querySelector("canvas"), {
    type: "line",
    data: { labels: data.labels, datasets: datasets(data, palette) },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      plugins: {
        legend: {
          position: "bottom",
          labels: { usePointStyle: true, boxHeight: 6 },
          // Hiding a line may hand its axis to the next one.
          onClick: (event, item, legend) => {
            window.Chart.defaults.plugins.legend.onClick.call(legend, event, item, legend);
            redraw();
          },
        },
        tooltip: {
          callbacks: {
            title: (items) => (items.length ? data.labels[items[0].dataIndex].join(" · ") : ""),
          },
        },
      },
      onClick: (event, elements) => {
        if (elements.length) window.location.assign(runUrl(data.runs[elements[0].index]));
      },
      onHover: (event, elements) => {
        event.native.target.style.cursor = elements.length ? "pointer" : "default";
      },
    },
  });
  function redraw() {
    applyTheme(chart, colours(), own);
    chart.update();
    box.dataset.scales = own ? "own" : "shared";
  }
  if (toggle) {
    toggle.hidden = data.lines.length < 2;
    const input = toggle.querySelector("input");
    input.checked = own;
    input.addEventListener("change", () => {
      own = input.checked;
      redraw();
    });
  }
  redraw();
  onThemeChange(redraw);
  return chart;
}

const script = document.getElementById("ff-metrics-chart-data");
const box = document.querySelector(".ff-metrics-chart");
if (script && box) {
  try {
    window.ffMetricsChart = draw(box, JSON.parse(script.textContent));
    box.dataset.state = "drawn";
  } catch (error) {
    box.dataset.state = "error";
    throw error;
  }
}
