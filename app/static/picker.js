/* Searchable pickers (customers, groups, staff, channels by name), declared in the markup:
     <div data-picker data-picker-url="/contacts/pick/customers" data-picker-name="external_userid"
          [data-picker-multiple] [data-picker-param-staff="#sender"] [data-picker-required]>
       <input type="search" data-picker-search>
       <div data-picker-results></div>
       <div data-picker-chosen>…chips rendered by the server: <span data-picker-chip>label <input type=hidden>
         <button type=button data-picker-remove></button></span></div>
     </div>
   Typing asks the URL (?q=…, plus each data-picker-param-NAME taken from the element its selector names) for
   {"results": [{"value", "label", "hint"}]}; choosing one adds a chip carrying a hidden input NAME=value (a single
   picker keeps one). Texts come from data-picker-* attributes, so the script holds no user-visible words. */
(function () {
  function chip(picker, value, label) {
    var span = document.createElement("span");
    span.className = "badge text-bg-light border me-1 mb-1 fw-normal d-inline-flex align-items-center gap-1";
    span.dataset.pickerChip = "";
    span.appendChild(document.createTextNode(label));
    var input = document.createElement("input");
    input.type = "hidden"; input.name = picker.dataset.pickerName; input.value = value;
    span.appendChild(input);
    var remove = document.createElement("button");
    remove.type = "button"; remove.className = "btn-close btn-close-sm"; remove.dataset.pickerRemove = "";
    remove.setAttribute("aria-label", picker.dataset.pickerRemoveLabel || "×");
    span.appendChild(remove);
    return span;
  }

  function params(picker, text) {
    var query = new URLSearchParams({q: text});
    Object.keys(picker.dataset).forEach(function (key) {
      if (key.indexOf("pickerParam") !== 0) { return; }
      var source = document.querySelector(picker.dataset[key]);
      var name = key.slice("pickerParam".length).toLowerCase();
      if (source && source.value) { query.set(name, source.value); }
    });
    return query;
  }

  function setUp(picker) {
    var search = picker.querySelector("[data-picker-search]");
    var results = picker.querySelector("[data-picker-results]");
    var chosen = picker.querySelector("[data-picker-chosen]");
    var asked = 0;

    function chosenValues() {
      return Array.prototype.map.call(chosen.querySelectorAll("input[type=hidden]"), function (i) { return i.value; });
    }

    function show(answer) {
      results.replaceChildren();
      var taken = chosenValues();
      answer.results.forEach(function (item) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "list-group-item list-group-item-action py-1 small";
        button.dataset.pickerValue = item.value;
        button.dataset.pickerLabel = item.label;
        button.disabled = taken.indexOf(item.value) >= 0;
        var label = document.createElement("span");
        label.textContent = item.label;
        button.appendChild(label);
        if (item.hint) {
          var hint = document.createElement("span");
          hint.className = "text-muted ms-2"; hint.textContent = item.hint;
          button.appendChild(hint);
        }
        results.appendChild(button);
      });
      if (!answer.results.length) {
        var none = document.createElement("div");
        none.className = "list-group-item py-1 small text-muted";
        none.textContent = picker.dataset.pickerEmpty || "—";
        results.appendChild(none);
      }
      results.hidden = false;
    }

    function ask() {
      var mine = ++asked;
      fetch(picker.dataset.pickerUrl + "?" + params(picker, search.value.trim()).toString(),
            {headers: {"Accept": "application/json"}, credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : {results: []}; })
        .then(function (answer) { if (mine === asked) { show(answer); } })
        .catch(function () { if (mine === asked) { show({results: []}); } });
    }

    var timer = null;
    search.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(ask, 200); });
    search.addEventListener("focus", ask);
    search.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); var first = results.querySelector("button:not([disabled])"); if (first) { first.click(); } }
      if (e.key === "Escape") { results.hidden = true; }
    });
    results.addEventListener("click", function (e) {
      var button = e.target.closest("[data-picker-value]");
      if (!button || button.disabled) { return; }
      if (!("pickerMultiple" in picker.dataset)) { chosen.replaceChildren(); }
      chosen.appendChild(chip(picker, button.dataset.pickerValue, button.dataset.pickerLabel));
      button.disabled = true;
      search.value = "";
      if (!("pickerMultiple" in picker.dataset)) { results.hidden = true; }
      search.setCustomValidity("");
    });
    chosen.addEventListener("click", function (e) {
      if (e.target.matches("[data-picker-remove]")) { e.target.closest("[data-picker-chip]").remove(); }
    });
    Object.keys(picker.dataset).forEach(function (key) {  /* a filter changed: the list is out of date */
      if (key.indexOf("pickerParam") !== 0) { return; }
      var source = document.querySelector(picker.dataset[key]);
      if (source) { source.addEventListener("change", function () { if (!results.hidden) { ask(); } }); }
    });
    document.addEventListener("click", function (e) { if (!picker.contains(e.target)) { results.hidden = true; } });
    var form = picker.closest("form");
    if (form && "pickerRequired" in picker.dataset) {
      form.addEventListener("submit", function (e) {
        if (!chosenValues().length) {
          e.preventDefault();
          search.setCustomValidity(picker.dataset.pickerRequired);
          search.reportValidity();
        }
      });
    }
  }

  document.querySelectorAll("[data-picker]").forEach(setUp);
})();
