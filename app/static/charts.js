/* The console's ECharts: each chart reads its data from a JSON block in the page (no inline script, see console.js).
   #rfm-heatmap with #rfm-segments / #rfm-classes on the RFM page (clicks open the customers), #welcome-latency,
   #lifecycle-chart (customers entering each lifecycle stage per day), #group-activity-members and
   #group-activity-health (群活跃度: WeCom's daily group statistics, leaves by scene, health score). */
(function () {
  function data(id) { var el = document.getElementById(id); return el && JSON.parse(el.textContent); }
  function chart(id, option) {
    var c = echarts.init(document.getElementById(id));
    c.setOption(option);
    window.addEventListener("resize", function () { c.resize(); });
    return c;
  }

  var rfm = data("rfm-data");
  if (rfm) {
    var go = function (params) { window.location = rfm.customers_url + "?" + new URLSearchParams(params).toString(); };
    var cells = rfm.cells;
    var heat = chart("rfm-heatmap", {
      tooltip: {formatter: function (p) { return "R" + (p.value[1] + 1) + " F" + (p.value[0] + 1) + ": " + p.value[2]; }},
      /* the legend stands right of the grid, so it never covers the F axis or its labels */
      grid: {top: 24, bottom: 44, left: 50, right: 90},
      xAxis: {type: "category", data: ["F1", "F2", "F3", "F4", "F5"], name: "F", nameLocation: "middle", nameGap: 28},
      yAxis: {type: "category", data: ["R1", "R2", "R3", "R4", "R5"], name: "R", nameLocation: "middle", nameGap: 34},
      visualMap: {min: 0, max: Math.max.apply(null, cells.concat([1])), orient: "vertical", right: 8, top: "middle",
                  itemHeight: 140, calculable: true},
      series: [{type: "heatmap", data: rfm.keys.map(function (k, i) { return [k[1] - 1, k[0] - 1, cells[i]]; }), label: {show: true}}]
    });
    heat.on("click", function (p) { go({r: p.value[1] + 1, f: p.value[0] + 1}); });
    var bars = function (id, rows, arg) {
      chart(id, {
        tooltip: {}, grid: {top: 10, bottom: 30, left: 100, right: 20},
        xAxis: {type: "value", minInterval: 1}, yAxis: {type: "category", data: rows.map(function (r) { return r.label; }), inverse: true},
        series: [{type: "bar", data: rows.map(function (r) { return r.customers; })}]
      }).on("click", function (p) { var q = {}; q[arg] = rows[p.dataIndex].key; go(q); });
    };
    bars("rfm-segments", rfm.charts.segments, "segment");
    bars("rfm-classes", rfm.charts.classes, "class8");
  }

  var welcome = data("welcome-latency-data");
  if (welcome) {
    chart("welcome-latency", {
      tooltip: {}, grid: {top: 20, bottom: 30, left: 50, right: 20},
      xAxis: {type: "category", data: welcome.buckets},
      yAxis: {type: "value", minInterval: 1, name: welcome.y_name},
      series: [{type: "bar", data: welcome.histogram,
                itemStyle: {color: function (p) { return p.dataIndex >= 6 ? "#dc3545" : (p.dataIndex >= 4 ? "#f0ad4e" : "#198754"); }}}]
    });
  }
  var lifecycle = data("lifecycle-data");
  if (lifecycle) {
    var colors = ["#198754", "#f0ad4e", "#fd7e14", "#6f42c1", "#6c757d"];
    chart("lifecycle-chart", {
      tooltip: {trigger: "axis"}, legend: {top: 0}, grid: {top: 36, bottom: 30, left: 50, right: 20},
      xAxis: {type: "category", data: lifecycle.days}, yAxis: {type: "value", minInterval: 1},
      series: lifecycle.series.map(function (s, i) {
        return {name: s.name, type: "bar", stack: "entered", data: s.data, itemStyle: {color: colors[i]}};
      })
    });
  }
  var activity = data("group-activity-data");
  if (activity) {
    var L = activity.labels;
    chart("group-activity-members", {
      tooltip: {trigger: "axis"}, legend: {top: 0}, grid: {top: 36, bottom: 30, left: 55, right: 55},
      xAxis: {type: "category", data: activity.days},
      yAxis: [{type: "value", minInterval: 1}, {type: "value", max: 100, axisLabel: {formatter: "{value}%"}}],
      series: [{name: L.members, type: "line", data: activity.members},
               {name: L.new_members, type: "bar", data: activity.new_members},
               {name: L.speakers_pct, type: "line", yAxisIndex: 1, data: activity.speakers_pct}]
    });
    chart("group-activity-health", {
      tooltip: {trigger: "axis"}, legend: {top: 0}, grid: {top: 36, bottom: 30, left: 45, right: 45},
      xAxis: {type: "category", data: activity.days},
      yAxis: [{type: "value", minInterval: 1}, {type: "value", min: 0, max: 100}],
      series: [{name: L.left_self, type: "bar", stack: "left", data: activity.left_self, itemStyle: {color: "#f0ad4e"}},
               {name: L.removed, type: "bar", stack: "left", data: activity.removed, itemStyle: {color: "#dc3545"}},
               {name: L.left_unknown, type: "bar", stack: "left", data: activity.left_unknown, itemStyle: {color: "#adb5bd"}},
               {name: L.silent, type: "line", data: activity.silent, itemStyle: {color: "#6c757d"}},
               {name: L.score, type: "line", yAxisIndex: 1, data: activity.score, itemStyle: {color: "#198754"}}]
    });
  }
})();
