/* The push editor: choosing 客户（一对一） or 客户群 shows only the parts that apply ([data-only="single"|"group"]);
   the fields of the hidden part are disabled, so a 1:1 option (holdout by customer, the audience) is not sent
   with a group push. */
(function () {
  var kind = document.querySelector("[data-chat-type]");
  if (!kind) { return; }
  function apply() {
    document.querySelectorAll("[data-only]").forEach(function (part) {
      var off = part.dataset.only !== kind.value;
      part.hidden = off;
      part.querySelectorAll("input, select, textarea, button").forEach(function (field) { field.disabled = off; });
    });
  }
  kind.addEventListener("change", apply);
  apply();
})();
