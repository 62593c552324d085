// Charts drawn from the tables on the page (the same numbers the export writes), so the page reads
// without JavaScript and a chart can never say something its table does not.
(function () {
  "use strict";
  function read(id) {
    var table = document.getElementById("table-" + id);
    var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) { return th.textContent; });
    var rows = Array.prototype.filter.call(table.querySelectorAll("tbody tr"), function (tr) {
      return !tr.querySelector("td.muted");
    }).map(function (tr) {
      return Array.prototype.map.call(tr.children, function (td) { return td.textContent; });
    });
    return {heads: heads, rows: rows};
  }
  document.querySelectorAll("[data-chart]").forEach(function (figure) {
    var data = read(figure.dataset.table), kind = figure.dataset.chart;
    var labels = data.rows.map(function (row) { return row[0]; });
    var series = data.heads.slice(1).map(function (head, i) {
      return {name: head, type: kind, data: data.rows.map(function (row) {
        return kind === "pie" ? {name: row[0], value: Number(row[i + 1])} : Number(row[i + 1]);
      })};
    });
    var option = {title: {text: figure.dataset.title, textStyle: {fontSize: 14}}, tooltip: {},
                  legend: {bottom: 0}, animation: false, series: series};
    if (kind !== "pie") {
      option.xAxis = {type: "category", data: labels};
      option.yAxis = {type: "value", minInterval: 1};
    }
    window.echarts.init(figure).setOption(option);  // canvas: nothing the CSP would block as an inline style
    figure.dataset.drawn = "true";
  });
})();
