/* 群日历: move between the days of the month grid with the arrow keys (Home/End: first/last day of the week),
   Enter opens the day's first entry, Tab moves through a day's entries once it has focus. */
(function () {
  "use strict";
  var grid = document.querySelector("[data-sop-calendar]");
  if (!grid) { return; }
  var days = Array.prototype.slice.call(grid.querySelectorAll("td[data-day]"));
  if (!days.length) { return; }
  if (!days.some(function (d) { return d.tabIndex === 0; })) { days[0].tabIndex = 0; }

  function entries(day) { return day.querySelectorAll("a"); }

  function focusDay(index) {
    var target = days[Math.max(0, Math.min(days.length - 1, index))];
    days.forEach(function (d) {
      d.tabIndex = d === target ? 0 : -1;
      Array.prototype.forEach.call(entries(d), function (a) { a.tabIndex = d === target ? 0 : -1; });
    });
    target.focus();
  }

  grid.addEventListener("keydown", function (event) {
    var cell = event.target.closest("td[data-day]");
    if (!cell) { return; }
    var index = days.indexOf(cell);
    var step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -7, ArrowDown: 7 }[event.key];
    if (step !== undefined) {
      event.preventDefault();
      focusDay(index + step);
    } else if (event.key === "Home" || event.key === "End") {
      event.preventDefault();
      var weekday = (new Date(cell.dataset.day + "T00:00:00").getDay() + 6) % 7;
      focusDay(event.key === "Home" ? index - weekday : index + 6 - weekday);
    } else if (event.key === "Enter" && event.target === cell && entries(cell).length) {
      event.preventDefault();
      entries(cell)[0].click();
    }
  });
  grid.addEventListener("focusin", function (event) {
    var cell = event.target.closest("td[data-day]");
    if (cell && event.target === cell && cell.tabIndex !== 0) { focusDay(days.indexOf(cell)); }
  });
  var start = days.filter(function (d) { return d.tabIndex === 0; })[0];
  Array.prototype.forEach.call(entries(start), function (a) { a.tabIndex = 0; });
}());
