/*
 * Draws every element with a data-chart attribute (JSON: {kind: "line"|"bars", x: [unix seconds],
 * series: [{label, values}], yLabel}) with uPlot, loaded before this file. A static script: the
 * dashboard's Content-Security-Policy allows no inline script. Re-run after htmx swaps content.
 */
(() => {
  const COLORS = ["#2456d6", "#16a34a", "#dc2626", "#d97706", "#7c3aed", "#0891b2"];

  function draw(el) {
    if (el.dataset.chartDrawn === "1" || typeof uPlot === "undefined") {
      return;
    }
    let spec;
    try {
      spec = JSON.parse(el.dataset.chart);
    } catch {
      return;
    }
    const bars = spec.kind === "bars" && uPlot.paths && uPlot.paths.bars;
    const width = Math.max(280, el.clientWidth || 600);
    const opts = {
      width,
      height: 240,
      scales: { x: { time: true } },
      axes: [{}, { label: spec.yLabel || "" }],
      series: [{}].concat(
        spec.series.map((s, i) => ({
          label: s.label,
          stroke: COLORS[i % COLORS.length],
          fill: bars ? `${COLORS[i % COLORS.length]}55` : undefined,
          width: bars ? 1 : 2,
          paths: bars ? uPlot.paths.bars({ size: [0.6, 60] }) : undefined,
        })),
      ),
    };
    const data = [spec.x].concat(spec.series.map((s) => s.values));
    el.dataset.chartDrawn = "1";
    const plot = new uPlot(opts, data, el);
    new ResizeObserver(() => {
      const w = Math.max(280, el.clientWidth);
      if (w !== plot.width) {
        plot.setSize({ width: w, height: 240 });
      }
    }).observe(el);
  }

  function drawAll(root) {
    for (const el of (root || document).querySelectorAll("[data-chart]")) {
      draw(el);
    }
  }

  document.addEventListener("DOMContentLoaded", () => drawAll(document));
  document.addEventListener("htmx:after:swap", (e) => drawAll(e.target));
  document.addEventListener("htmx:afterSwap", (e) => drawAll(e.target));
  // The live overview swaps its region in by itself (live-list.js).
  document.addEventListener("live:swap", (e) => drawAll(e.target));
})();
