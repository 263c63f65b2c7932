/* Live progress of a running job: polls the JSON at data-progress-url, updates the bar (or, for a job without a
   measurable share, the time so far), the stage and the per-entity counts, and reloads the page when the job is no
   longer running. */
(function () {
  var box = document.querySelector("[data-progress-url]");
  if (!box) { return; }
  function show(p) {
    var bar = box.querySelector(".progress-bar");
    if (p.percent === null) {  /* no measurable share: a full striped bar with the time so far */
      bar.textContent = box.dataset.elapsedLabel.replace("%s", p.seconds);
      return;
    }
    bar.style.width = p.percent + "%";
    bar.textContent = p.percent + "%";
    box.setAttribute("aria-valuenow", p.percent);
    document.querySelectorAll("[data-progress-stage]").forEach(function (el) { el.textContent = p.stage; });
    document.querySelectorAll("[data-entity]").forEach(function (row) {
      var c = (p.counts || {})[row.dataset.entity];
      if (c) { row.cells[1].textContent = c.added; row.cells[2].textContent = c.changed; row.cells[3].textContent = c.removed; }
    });
  }
  function poll() {
    fetch(box.dataset.progressUrl, {headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (p) {
        if (p.status !== "running") { window.location.reload(); return; }
        show(p);
        setTimeout(poll, 1500);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1500);
})();
