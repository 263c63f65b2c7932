/* Live progress of background jobs: every element with data-progress-url polls the jobs' progress API
   (/jobs/<id>/progress), updates its bar (or, for work without a measurable share, the time so far), the stage and
   the per-entity counts, and reloads the page when a job changes state (starts, ends). */
(function () {
  var boxes = document.querySelectorAll("[data-progress-url]");
  if (!boxes.length) { return; }
  function show(box, p) {
    var bar = box.querySelector(".progress-bar");
    if (p.percent === null) {  /* no measurable share: a full striped bar with the time so far */
      bar.textContent = box.dataset.elapsedLabel.replace("%s", p.seconds);
    } else {
      bar.style.width = p.percent + "%";
      bar.textContent = p.percent + "%";
      box.setAttribute("aria-valuenow", p.percent);
    }
    if (p.stage) {
      document.querySelectorAll("[data-progress-stage]").forEach(function (el) { el.textContent = p.stage; });
    }
    document.querySelectorAll("[data-entity]").forEach(function (row) {
      var c = (p.counts || {})[row.dataset.entity];
      if (c) { row.cells[1].textContent = c.added; row.cells[2].textContent = c.changed; row.cells[3].textContent = c.removed; }
    });
  }
  function poll(box) {
    fetch(box.dataset.progressUrl, {headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (p) {
        if (!p.active || p.state !== box.dataset.progressState) { window.location.reload(); return; }
        if (p.state === "running") { show(box, p); }
        setTimeout(function () { poll(box); }, 1500);
      })
      .catch(function () { setTimeout(function () { poll(box); }, 5000); });
  }
  boxes.forEach(function (box) { setTimeout(function () { poll(box); }, 1500); });
})();
