// The pilot application form: rows are added here without reloading (what was typed stays),
// and the totals under the table follow what is typed.
(function () {
  "use strict";
  var table = document.getElementById("lines");
  if (!table) { return; }
  var body = table.tBodies[0];
  var count = document.getElementById("line-count");
  var template = document.getElementById("line-template");
  var add = document.getElementById("add-line");
  var max = parseInt(table.getAttribute("data-max-lines"), 10) || 200;

  function number(value) {
    var text = String(value || "").trim();
    return /^\d{1,9}$/.test(text) ? parseInt(text, 10) : 0;
  }

  function updateTotals() {
    ["students", "teachers", "requested"].forEach(function (name) {
      var sum = 0;
      table.querySelectorAll('input[data-count="' + name + '"]').forEach(function (input) {
        sum += number(input.value);
      });
      var cell = table.querySelector('[data-total="' + name + '"]');
      if (cell) { cell.textContent = String(sum); }
    });
  }

  function addLine() {
    var index = parseInt(count.value, 10) || 0;
    if (index >= max) { return; }
    var html = template.innerHTML.split("__i__").join(String(index));
    body.insertAdjacentHTML("beforeend", html);
    var row = body.rows[body.rows.length - 1];
    row.querySelector("[data-line-no]").textContent = String(index + 1);
    count.value = String(index + 1);
    if (index + 1 >= max) { add.disabled = true; }
    var first = row.querySelector("input");
    if (first) { first.focus(); }
  }

  table.addEventListener("input", function (event) {
    if (event.target.hasAttribute("data-count")) { updateTotals(); }
  });
  if (add && template) {
    add.classList.remove("d-none");
    add.disabled = (parseInt(count.value, 10) || 0) >= max;
    add.addEventListener("click", addLine);
  }
  updateTotals();
})();
