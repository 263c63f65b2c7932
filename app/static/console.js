/* Small behaviours every console page shares, declared in the markup with data attributes so that the pages need no
   inline script or handler (the Content-Security-Policy admits scripts from our own static files only):
   data-confirm on a form asks before submitting; data-autosubmit submits its form on change; data-check-all ticks
   every .row-check; data-hide-on-error images hide themselves (and show the element named by its value) when they
   fail to load; data-counts-url fills [data-customers] links; the content editor's attachment rows and inserts. */
(function () {
  document.addEventListener("submit", function (e) {
    var message = e.target.dataset && e.target.dataset.confirm;
    if (message && !window.confirm(message)) { e.preventDefault(); }
  });
  document.addEventListener("change", function (e) {
    if (e.target.matches("[data-autosubmit]")) { e.target.form.submit(); }
    if (e.target.matches("[data-check-all]")) {
      document.querySelectorAll(".row-check").forEach(function (box) { box.checked = e.target.checked; });
    }
  });

  function imageFailed(img) {
    img.hidden = true;
    var fallback = img.dataset.hideOnError && document.querySelector(img.dataset.hideOnError);
    if (fallback) { fallback.hidden = false; }
  }
  document.addEventListener("error", function (e) {
    if (e.target.matches && e.target.matches("img[data-hide-on-error]")) { imageFailed(e.target); }
  }, true);
  document.querySelectorAll("img[data-hide-on-error]").forEach(function (img) {
    if (img.complete && img.naturalWidth === 0) { imageFailed(img); }  /* failed before this script ran */
  });

  var counted = document.querySelector("[data-counts-url]");
  if (counted) {  /* customers per tag: one pass over all relations, so it comes after the page */
    var links = document.querySelectorAll("[data-customers]");
    fetch(counted.dataset.countsUrl, {headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (counts) {
        links.forEach(function (a) { a.textContent = (counts[a.dataset.customers] || 0).toLocaleString("en-US"); });
      })
      .catch(function () { links.forEach(function (a) { a.textContent = "?"; }); });
  }

  var box = document.querySelector("[data-attachments]");
  if (box) {
    var showKind = function (row) {
      var kind = row.querySelector("[data-kind-select]").value;
      row.querySelectorAll("[data-kind]").forEach(function (g) { g.hidden = g.dataset.kind !== kind; });
    };
    box.querySelectorAll("[data-attachment-row]").forEach(function (row) {
      showKind(row);
      row.querySelector("[data-kind-select]").addEventListener("change", function () { showKind(row); });
    });
  }
  var text = document.getElementById("content-text");
  document.querySelectorAll("[data-insert]").forEach(function (b) {
    b.addEventListener("click", function () {
      var s = text.selectionStart, e = text.selectionEnd;
      text.value = text.value.slice(0, s) + b.dataset.insert + text.value.slice(e);
      text.focus(); text.selectionStart = text.selectionEnd = s + b.dataset.insert.length;
    });
  });
})();
