/* The journey editor's timeline: add, move and number steps; show only the fields of each step's kind, the
   condition's own fields and the trigger's parameters. Without it every field shows and the form still works. */
(function () {
  var form = document.querySelector("[data-journey-editor]");
  if (!form) { return; }
  var list = form.querySelector("[data-steps]");
  var template = document.getElementById("step-template");
  var next = list.querySelectorAll("[data-step]").length;

  function showFor(row) {
    var kind = row.querySelector("[data-step-kind]").value;
    row.querySelectorAll("[data-for]").forEach(function (el) {
      el.hidden = el.getAttribute("data-for").split(" ").indexOf(kind) < 0;
    });
    var field = row.querySelector("[data-step-if]").value;
    row.querySelectorAll("[data-if]").forEach(function (el) {
      el.hidden = el.getAttribute("data-if").split(" ").indexOf(field) < 0;
    });
  }

  function renumber() {
    list.querySelectorAll("[data-step]").forEach(function (row, i) {
      row.querySelector("[data-step-order]").value = i + 1;
      row.querySelector("[data-step-number]").textContent = i + 1;
    });
  }

  function showTrigger() {
    var kind = form.querySelector("[data-trigger-kind]").value;
    form.querySelectorAll("[data-trigger]").forEach(function (el) {
      el.hidden = el.getAttribute("data-trigger") !== kind;
    });
  }

  form.addEventListener("change", function (e) {
    var row = e.target.closest("[data-step]");
    if (row) { showFor(row); }
    if (e.target.matches("[data-trigger-kind]")) { showTrigger(); }
  });
  form.addEventListener("click", function (e) {
    var row = e.target.closest("[data-step]");
    if (e.target.matches("[data-step-up]") && row.previousElementSibling) {
      list.insertBefore(row, row.previousElementSibling);
      renumber();
    }
    if (e.target.matches("[data-step-down]") && row.nextElementSibling) {
      list.insertBefore(row.nextElementSibling, row);
      renumber();
    }
    if (e.target.matches("[data-add-step]")) {
      var html = template.innerHTML.replace(/__N__/g, String(next++));
      list.insertAdjacentHTML("beforeend", html);
      showFor(list.lastElementChild);
      renumber();
    }
  });
  list.querySelectorAll("[data-step]").forEach(showFor);
  showTrigger();
})();
