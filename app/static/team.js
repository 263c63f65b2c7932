/* Team pages: a small daily trend line under each tile, from the JSON block #team-data (no inline script). */
(function () {
  var el = document.getElementById("team-data");
  if (!el || !window.echarts) { return; }
  var data = JSON.parse(el.textContent);
  var pct = function (v) { return v === null ? "—" : (v * 100).toFixed(1) + "%"; };
  var fmt = {rate: pct, minutes: function (v) { return v === null ? "—" : v.toFixed(1); },
             money: function (v) { return v === null ? "—" : "¥" + (v / 100).toFixed(2); },
             count: function (v) { return v === null ? "—" : String(v); }};
  document.querySelectorAll("[data-spark]").forEach(function (box) {
    var key = box.getAttribute("data-spark"), show = fmt[data.kinds[key]] || fmt.count;
    var chart = echarts.init(box);
    chart.setOption({
      grid: {top: 4, bottom: 4, left: 4, right: 4},
      tooltip: {trigger: "axis", formatter: function (p) { return p[0].axisValue + "<br>" + data.labels[key] + ": " + show(p[0].value); }},
      xAxis: {type: "category", show: false, data: data.days},
      yAxis: {type: "value", show: false, scale: true},
      series: [{type: "line", data: data.series[key], showSymbol: false, connectNulls: false, lineStyle: {width: 1.5}, areaStyle: {opacity: 0.08}}]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  });
})();
