// examadmin's own script: confirmations and live job progress. No inline scripts (CSP).
(function () {
  "use strict";

  // <form data-require-checked="name" data-require-message="..."> refuses to submit (and to ask
  // for confirmation) while no checkbox of that name is ticked; <form data-confirm="..."> then
  // asks before submitting.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var required = form.getAttribute("data-require-checked");
    if (required && !form.querySelector('input[name="' + required + '"]:checked')) {
      event.preventDefault();
      window.alert(form.getAttribute("data-require-message") || "请至少选择一项");
      return;
    }
    var message = form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });

  // <form data-reload-after-download>: its answer is a file (activation slips), so the page
  // would stay as it was, still reading 未开通. The form sends a token; the answer sets the
  // cookie download_done=<token>; once it is there the page reloads and shows what changed
  // (and the message the server left). A refused request redirects, which reloads anyway.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || !form.hasAttribute("data-reload-after-download")) { return; }
    var token = Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
    var input = form.querySelector('input[name="download_token"]');
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = "download_token";
      form.appendChild(input);
    }
    input.value = token;
    var waited = 0;
    var timer = window.setInterval(function () {
      waited += 500;
      if (document.cookie.indexOf("download_done=" + token) !== -1) {
        window.clearInterval(timer);
        window.location.reload();
      } else if (waited > 120000) {
        window.clearInterval(timer);
      }
    }, 500);
  });

  // <form data-subjects-by-level>: the subject list offers only the subjects of the chosen level
  // (their labels begin "初级 · "); the service still refuses a mismatch.
  Array.prototype.forEach.call(document.querySelectorAll("form[data-subjects-by-level]"), function (form) {
    var level = form.querySelector('select[name="level"]');
    var subject = form.querySelector('select[name="subject_id"]');
    if (!level || !subject) { return; }
    var all = Array.prototype.slice.call(subject.options);
    function filter() {
      var chosen = subject.value;
      var prefix = level.value + " · ";
      subject.innerHTML = "";
      all.forEach(function (option) {
        if (!option.value || option.text.indexOf(prefix) === 0) { subject.appendChild(option); }
      });
      subject.value = Array.prototype.some.call(subject.options, function (o) { return o.value === chosen; }) ? chosen : "";
    }
    level.addEventListener("change", filter);
    filter();
  });

  // A job page polls its JSON status until the job has finished.
  var card = document.getElementById("job-card");
  if (!card) { return; }
  var url = card.getAttribute("data-job-status-url");
  function field(name) { return card.querySelector('[data-job-field="' + name + '"]'); }
  function show(job) {
    field("state").textContent = job.state_label || job.state;
    var bar = field("bar");
    bar.setAttribute("data-pct", String(job.percent));
    bar.textContent = job.percent + "%";
    bar.parentElement.setAttribute("aria-valuenow", String(job.percent));
    var count = job.total ? job.done + " / " + job.total : (job.state === "排队中" ? "排队中，等待后台处理" : "");
    field("count").textContent = count;
    field("message").textContent = job.message || "";
    field("sep").classList.toggle("d-none", !(count && job.message));
    if (job.error) { field("error").textContent = job.error; field("error").classList.remove("d-none"); }
    if (job.download_url) { field("download").classList.remove("d-none"); }
    if (job.finished) {
      bar.classList.remove("progress-bar-animated");
      // Pages that show a job's outcome themselves reload to show it.
      if (job.state === "失败" || card.getAttribute("data-reload-when-done") ||
          card.getAttribute("data-finished") === "0") { window.location.reload(); }
    }
  }
  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (job) { show(job); if (!job.finished) { setTimeout(poll, 700); } })
      .catch(function () { setTimeout(poll, 3000); });
  }
  if (card.getAttribute("data-finished") !== "1") { poll(); }
})();

// The score grid is made for the keyboard: Tab moves along a row (the browser's own order),
// Enter in a score moves to the next row's score, and on the last row saves the page.
(function () {
  "use strict";
  var grid = document.querySelector("[data-score-grid]");
  if (!grid) { return; }
  var inputs = Array.prototype.slice.call(grid.querySelectorAll("[data-grid-score]"));
  inputs.forEach(function (input, index) {
    input.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") { return; }
      event.preventDefault();
      if (index + 1 < inputs.length) {
        inputs[index + 1].focus();
        inputs[index + 1].select();
      } else {
        input.form.requestSubmit();
      }
    });
  });
  if (inputs.length) { inputs[0].focus(); }
})();
