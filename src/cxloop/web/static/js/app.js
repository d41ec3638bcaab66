// cxloop front end: draws ECharts charts described by data-chart JSON, wires chart clicks to htmx.
// No inline scripts anywhere (the CSP forbids them): pages describe charts, this file draws them.
(function () {
  "use strict";
  var charts = [];

  function drawCharts(root) {
    if (typeof echarts === "undefined") { return; }
    var nodes = (root || document).querySelectorAll("[data-chart]:not([data-chart-ready])");
    Array.prototype.forEach.call(nodes, function (el) {
      var option;
      try { option = JSON.parse(el.getAttribute("data-chart")); } catch (e) { return; }
      el.setAttribute("data-chart-ready", "1");
      var chart = echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(option);
      charts.push(chart);
      var target = el.getAttribute("data-drill-target");
      if (target) {
        // A bar whose data item carries a url opens its details in the target (Pareto drill-down).
        chart.on("click", function (params) {
          var url = params.data && params.data.url;
          if (url && window.htmx) {
            window.htmx.ajax("GET", url, { target: target, swap: "innerHTML" });
          }
        });
      }
    });
  }

  window.addEventListener("resize", function () {
    charts.forEach(function (chart) { if (!chart.isDisposed()) { chart.resize(); } });
  });
  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
  document.addEventListener("htmx:afterSwap", function (event) { drawCharts(event.target); });
  // Month pickers and similar selects submit their form as soon as they change.
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el && el.matches && el.matches("select[data-autosubmit]") && el.form) { el.form.submit(); }
  });
})();
