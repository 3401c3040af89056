// Bar charts from data attributes (self-hosted ECharts; no inline data fetching).
document.querySelectorAll("[data-chart]").forEach(function (el) {
  var rows = JSON.parse(document.getElementById(el.dataset.chart).textContent);
  var chart = echarts.init(el);
  chart.setOption({
    grid: { left: 90, right: 20, top: 10, bottom: 20 },
    tooltip: {},
    xAxis: { type: "value" },
    yAxis: { type: "category", inverse: true, data: rows.map(function (r) { return r[0]; }) },
    series: [{ type: "bar", barMaxWidth: 28, data: rows.map(function (r) { return r[1]; }), itemStyle: { color: "#b71c1c" } }]
  });
  window.addEventListener("resize", function () { chart.resize(); });
});
