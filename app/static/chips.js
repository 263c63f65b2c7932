/* Chips with search over a <select multiple data-chips>: the chosen options show as chips (each with a remove
   button), a search box lists the others as you type. Progressive enhancement: the select stays in the form (hidden)
   and keeps the value, and gets a "change" event on every pick, so forms and scripts that read it work unchanged.
   Keyboard: type to filter, Up/Down to move, Enter to add, Escape to close, Backspace in an empty box removes the
   last chip. Selects added later (the segment builder's) are enhanced when they appear. */
(function () {
  var LIMIT = 60;  /* options listed at once; typing narrows the rest */
  var TEXT = document.body.dataset;  /* translated words, from base.html: chipsSearch, chipsRemove, chipsMore */

  function label(option) {
    var group = option.parentNode && option.parentNode.tagName === "OPTGROUP" ? option.parentNode.label + " / " : "";
    return group + option.textContent.trim();
  }

  function enhance(select) {
    if (select.dataset.chipsReady) { return; }
    select.dataset.chipsReady = "1";
    var box = document.createElement("div"), chips = document.createElement("div");
    var input = document.createElement("input"), list = document.createElement("ul"), active = -1, shown = [];
    var closed = false;  /* after a pick or Escape, until the next key or click in the box */
    var listId = (select.id || "chips-" + Math.random().toString(36).slice(2)) + "-options";
    box.className = "chips-picker form-control form-control-sm";
    chips.className = "chips-list";
    input.type = "search";
    input.className = "chips-search";
    input.placeholder = TEXT.chipsSearch || "";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);
    input.setAttribute("aria-label", select.getAttribute("aria-label") ||
      (select.id && document.querySelector("label[for='" + select.id + "']") || {}).textContent || "");
    if (select.id) {  /* the page's <label for> now points at the search box */
      var forLabel = document.querySelector("label[for='" + select.id + "']");
      input.id = select.id + "-search";
      if (forLabel) { forLabel.htmlFor = input.id; }
    }
    list.className = "chips-options list-unstyled";
    list.id = listId;
    list.setAttribute("role", "listbox");
    list.hidden = true;
    box.appendChild(chips);
    box.appendChild(input);
    box.appendChild(list);
    select.hidden = true;
    select.classList.add("chips-source");
    select.insertAdjacentElement("afterend", box);
    if (select.classList.contains("is-invalid")) { box.classList.add("is-invalid"); }

    function changed() {
      select.dispatchEvent(new Event("change", {bubbles: true}));
      drawChips();
      drawList();
    }
    function drawChips() {
      chips.textContent = "";
      Array.from(select.options).filter(function (o) { return o.selected; }).forEach(function (option) {
        var chip = document.createElement("span"), remove = document.createElement("button");
        chip.className = "chip";
        chip.dataset.chip = option.value;
        chip.appendChild(document.createTextNode(label(option)));
        remove.type = "button";
        remove.className = "chip-remove";
        remove.setAttribute("aria-label", (TEXT.chipsRemove || "") + " " + label(option));
        remove.textContent = "×";
        remove.addEventListener("click", function () { option.selected = false; changed(); input.focus(); });
        chip.appendChild(remove);
        chips.appendChild(chip);
      });
    }
    function drawList() {
      var words = input.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
      var open = !closed && (document.activeElement === input || words.length > 0);
      shown = Array.from(select.options).filter(function (o) {
        var text = label(o).toLowerCase();
        return !o.selected && !o.disabled && words.every(function (w) { return text.indexOf(w) !== -1; });
      });
      list.textContent = "";
      shown.slice(0, LIMIT).forEach(function (option, index) {
        var item = document.createElement("li");
        item.className = "chips-option" + (index === active ? " active" : "");
        item.id = listId + "-" + index;
        item.setAttribute("role", "option");
        item.textContent = label(option);
        item.addEventListener("mousedown", function (e) { e.preventDefault(); pick(option); });
        list.appendChild(item);
      });
      if (shown.length > LIMIT) {
        var more = document.createElement("li");
        more.className = "chips-more";
        more.textContent = (TEXT.chipsMore || "").replace("{n}", shown.length - LIMIT);
        list.appendChild(more);
      }
      list.hidden = !open || shown.length === 0;
      input.setAttribute("aria-expanded", String(!list.hidden));
      if (active >= 0 && active < Math.min(shown.length, LIMIT)) {
        input.setAttribute("aria-activedescendant", listId + "-" + active);
      } else { input.removeAttribute("aria-activedescendant"); }
    }
    function pick(option) {
      option.selected = true;
      input.value = "";
      active = -1;
      closed = true;
      changed();
    }
    input.addEventListener("input", function () { closed = false; active = 0; drawList(); });
    input.addEventListener("click", function () { closed = false; drawList(); });
    input.addEventListener("focus", function () { closed = false; drawList(); });
    input.addEventListener("blur", function () { list.hidden = true; input.setAttribute("aria-expanded", "false"); });
    input.addEventListener("keydown", function (e) {
      var count = Math.min(shown.length, LIMIT);
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        if (closed) { closed = false; drawList(); }
        count = Math.min(shown.length, LIMIT);
        if (!count) { return; }
        active = e.key === "ArrowDown" ? (active + 1) % count : (active - 1 + count) % count;
        drawList();
        var current = document.getElementById(listId + "-" + active);
        if (current) { current.scrollIntoView({block: "nearest"}); }
      } else if (e.key === "Enter") {
        e.preventDefault();  /* never submits the form from the picker */
        if (!list.hidden && count) { pick(shown[Math.max(active, 0)]); }
      } else if (e.key === "Escape") {
        closed = true;
        drawList();
      } else if (e.key === "Backspace" && !input.value) {
        var chosen = Array.from(select.options).filter(function (o) { return o.selected; });
        if (chosen.length) { chosen[chosen.length - 1].selected = false; changed(); }
      }
    });
    box.addEventListener("click", function (e) { if (e.target === box || e.target === chips) { input.focus(); } });
    drawChips();
  }

  document.querySelectorAll("select[multiple][data-chips]").forEach(enhance);
  new MutationObserver(function (records) {
    records.forEach(function (r) {
      r.addedNodes.forEach(function (node) {
        if (node.nodeType !== 1) { return; }
        if (node.matches("select[multiple][data-chips]")) { enhance(node); }
        node.querySelectorAll("select[multiple][data-chips]").forEach(enhance);
      });
    });
  }).observe(document.body, {childList: true, subtree: true});
})();
