// Bar charts from data attributes (self-hosted ECharts; no inline data fetching). A chart with nothing to
// show says so (its data-empty text, translated by the page) instead of drawing an empty axis.
document.querySelectorAll("[data-chart]").forEach(function (el) {
  var rows = JSON.parse(document.getElementById(el.dataset.chart).textContent);
  if (!rows.some(function (r) { return r[1]; })) {
    var note = document.createElement("div");
    note.className = "text-secondary text-center py-5 wb-chart-empty";
    note.textContent = el.dataset.empty || "—";
    el.replaceChildren(note);
    el.style.height = "auto";
    return;
  }
  var chart = echarts.init(el);
  chart.setOption({
    grid: { left: 90, right: 20, top: 10, bottom: 20 },
    tooltip: {},
    xAxis: { type: "value", minInterval: 1 },
    yAxis: { type: "category", inverse: true, data: rows.map(function (r) { return r[0]; }) },
    series: [{ type: "bar", barMaxWidth: 28, data: rows.map(function (r) { return r[1]; }), itemStyle: { color: "#b71c1c" } }]
  });
  window.addEventListener("resize", function () { chart.resize(); });
});
