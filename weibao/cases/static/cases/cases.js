// Case pages: open the tab named in the address, line charts of assessment totals, order-only fields.
(function () {
  // Deferred scripts (Tabler, which bundles Bootstrap) have run by DOMContentLoaded.
  document.addEventListener("DOMContentLoaded", function () {
    var bs = window.bootstrap || (window.tabler && window.tabler.bootstrap);
    var link = location.hash && document.querySelector('a[data-bs-toggle="tab"][href="' + location.hash + '"]');
    if (link && bs) { bs.Tab.getOrCreateInstance(link).show(); }
  });
  document.querySelectorAll("[data-line-chart]").forEach(function (el) {
    var rows = JSON.parse(document.getElementById(el.dataset.lineChart).textContent);
    var draw = function () {
      if (el.dataset.drawn || !el.offsetWidth) { return; }
      el.dataset.drawn = "1";
      echarts.init(el).setOption({
        grid: { left: 40, right: 20, top: 10, bottom: 30 }, tooltip: { trigger: "axis" },
        xAxis: { type: "category", data: rows.map(function (r) { return r[0]; }) },
        yAxis: { type: "value" },
        series: [{ type: "line", data: rows.map(function (r) { return r[1]; }), itemStyle: { color: "#b71c1c" } }]
      });
    };
    draw();
    document.querySelectorAll('a[data-bs-toggle="tab"]').forEach(function (a) { a.addEventListener("shown.bs.tab", draw); });
  });
  var kind = document.querySelector("#intervention-form select[name=kind]");
  if (kind) {
    var orders = ["family_education_order", "supervision_order"];
    var toggle = function () {
      document.querySelectorAll("#intervention-form .wb-order-field").forEach(function (el) {
        el.style.display = orders.indexOf(kind.value) >= 0 ? "" : "none";
      });
    };
    kind.addEventListener("change", toggle); toggle();
  }
})();
