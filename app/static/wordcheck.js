/* Sensitive words as the operator types: every field with data-word-check="<check URL>" is sent (a moment after the
   last key) to the word library's check, and the hits are shown under the field: the text with each library word
   marked, and the words named. Built with text nodes only (no HTML from the server or the field). */
(function () {
  var token = document.querySelector("input[name=csrf_token]");

  function show(field, box, text, result) {
    box.textContent = "";
    var hits = result.hits || [];
    box.hidden = hits.length === 0;
    field.classList.toggle("has-sensitive", hits.length > 0);
    if (!hits.length) { return; }
    var chars = Array.from(text), at = 0;  /* the server counts characters (code points), not UTF-16 units */
    var head = document.createElement("div");
    head.className = "text-danger fw-semibold";
    head.textContent = result.message;
    var body = document.createElement("div");
    body.className = "word-hits-text";
    hits.forEach(function (hit) {
      body.appendChild(document.createTextNode(chars.slice(at, hit.start).join("")));
      var mark = document.createElement("mark");
      mark.className = "word-hit";
      mark.title = hit.category;
      mark.textContent = chars.slice(hit.start, hit.end).join("");
      body.appendChild(mark);
      at = hit.end;
    });
    body.appendChild(document.createTextNode(chars.slice(at).join("")));
    box.appendChild(head);
    box.appendChild(body);
  }

  document.querySelectorAll("[data-word-check]").forEach(function (field) {
    var box = document.createElement("div"), timer = null, asked = 0;
    box.className = "word-hits small border rounded p-2 mt-1";
    box.hidden = true;
    box.setAttribute("aria-live", "polite");
    field.insertAdjacentElement("afterend", box);
    function check() {
      var text = field.value, mine = ++asked;
      fetch(field.dataset.wordCheck, {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "Accept": "application/json",
                  "X-CSRFToken": token ? token.value : ""},
        body: JSON.stringify({text: text})
      }).then(function (r) { return r.ok ? r.json() : null; })
        .then(function (result) { if (result && mine === asked) { show(field, box, text, result); } })
        .catch(function () { /* the save checks again; nothing to show here */ });
    }
    field.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(check, 300); });
    if (field.value.trim()) { check(); }
  });
})();
