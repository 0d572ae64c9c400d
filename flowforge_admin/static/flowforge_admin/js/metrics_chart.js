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

function applyTheme(chart, palette) {
  chart.data.datasets.forEach((dataset, i) => {
    const colour = palette.series[i % SERIES_COLOURS];
    dataset.borderColor = colour;
    dataset.backgroundColor = colour;
  });
  const { scales, plugins } = chart.options;
  for (const axis of [scales.x, scales.y]) {
    axis.ticks.color = palette.quiet;
    axis.grid.color = palette.grid;
    axis.border.color = palette.quiet;
  }
  plugins.legend.labels.color = palette.fg;
  plugins.tooltip.backgroundColor = palette.fg;
  plugins.tooltip.titleColor = palette.bg;
  plugins.tooltip.bodyColor = palette.bg;
}

function draw(box, data) {
  const palette = colours();
  const runUrl = (id) => box.dataset.runUrl.replace("/0/", `/${id}/`);
  const chart = new window.Chart(box.querySelector("canvas"), {
    type: "line",
    data: { labels: data.labels, datasets: datasets(data, palette) },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      scales: {
        x: { ticks: { autoSkip: true, maxRotation: 0 }, grid: {}, border: {} },
        y: { ticks: {}, grid: {}, border: {} },
      },
      plugins: {
        legend: { position: "bottom", labels: { usePointStyle: true, boxHeight: 6 } },
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
  applyTheme(chart, palette);
  chart.update();
  onThemeChange(() => {
    applyTheme(chart, colours());
    chart.update();
  });
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
