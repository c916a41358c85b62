// Charts drawn with uPlot (served from /static/vendor/uplot): every <figure data-chart> holds
// its data as JSON in a <script type="application/json"> (written by chiso.web.charts) and its
// words in data-label-* attributes. The figures are also in a table or sentence beside it.
(() => {
  const lang = document.documentElement.lang || "vi";
  const number = new Intl.NumberFormat(lang, { maximumFractionDigits: 1 });
  const month = (t) => {  // 03/2026, as officials write a month
    const d = new Date(t * 1000);
    return `${String(d.getUTCMonth() + 1).padStart(2, "0")}/${d.getUTCFullYear()}`;
  };
  const width = (el) => Math.max(280, Math.min(el.clientWidth || 640, 900));
  const numbers = (self, ticks) => ticks.map((v) => number.format(v));

  const trend = (el, d, box) => {
    const series = [
      { label: el.dataset.labelMonth },
      { label: el.dataset.labelValue, stroke: "#1f5fa8", width: 2, points: { show: true } },
      { label: el.dataset.labelForecast, stroke: "#1f5fa8", dash: [6, 4], width: 2 },
      { label: el.dataset.labelLow, stroke: "rgba(31,95,168,0.35)", width: 1 },
      { label: el.dataset.labelHigh, stroke: "rgba(31,95,168,0.35)", width: 1 },
    ];
    const data = [d.x, d.value, d.forecast, d.low, d.high];
    if (d.target !== null && d.target !== undefined) {
      series.push({ label: el.dataset.labelTarget, stroke: "#b3261e", dash: [2, 3], width: 2 });
      data.push(d.x.map(() => d.target));
    }
    return new uPlot({
      width: width(box), height: 260, scales: { x: { time: true } },
      axes: [{ values: (self, ticks) => ticks.map(month) },
             { values: numbers }],
      series, bands: [{ series: [4, 3], fill: "rgba(31,95,168,0.15)" }],
    }, data, box);
  };

  const distribution = (el, d, box) => new uPlot({
    width: width(box), height: 220,
    scales: { x: { time: false, range: () => [d.edges[0], d.edges[d.edges.length - 1]] },
              y: { range: (self, min, max) => [0, Math.max(1, max)] } },
    axes: [{ values: numbers }, { values: numbers }],
    series: [{ label: el.dataset.labelValue }, { label: el.dataset.labelCount, fill: "rgba(31,95,168,0.45)",
                   stroke: "#1f5fa8", paths: uPlot.paths.bars({ size: [0.95, 400] }), points: { show: false } }],
  }, [d.x, d.count], box);

  const draw = { trend, distribution };
  document.querySelectorAll("figure[data-chart]").forEach((el) => {
    const source = el.querySelector("script[type='application/json']");
    const box = el.querySelector(".chart-box");
    const kind = draw[el.dataset.chart];
    if (!source || !box || !kind || typeof uPlot === "undefined") return;
    kind(el, JSON.parse(source.textContent), box);
    el.dataset.drawn = "true";
  });
})();
