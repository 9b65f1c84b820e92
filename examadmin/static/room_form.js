// The room form: the site list follows the chosen plan, the subject list the chosen site,
// without reloading the page (the lists come from /exams/rooms/options.json).
(function () {
  "use strict";
  var form = document.getElementById("room-form");
  var plan = document.getElementById("room-plan");
  if (!form || !plan) { return; }
  var site = document.getElementById("room-site");
  var subject = document.getElementById("room-subject");
  var message = form.querySelector("[data-testid=room-options-message]");
  var url = form.getAttribute("data-options-url");

  function fill(select, items, placeholder, label) {
    var keep = select.value;
    select.textContent = "";
    var first = document.createElement("option");
    first.value = "";
    first.textContent = placeholder;
    select.appendChild(first);
    items.forEach(function (item) {
      var option = document.createElement("option");
      option.value = String(item.id);
      option.textContent = label(item);
      select.appendChild(option);
    });
    if (items.length === 1) {
      select.value = String(items[0].id);
    } else if (items.some(function (item) { return String(item.id) === keep; })) {
      select.value = keep;
    }
  }

  function load(changed) {
    var query = "?plan_id=" + encodeURIComponent(plan.value || "") +
                (changed === "plan" ? "" : "&site_id=" + encodeURIComponent(site.value || ""));
    form.setAttribute("data-loading", "1");
    return fetch(url + query, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(function (data) {
        if (changed === "plan") {
          fill(site, data.sites, plan.value ? "请选择" : "请先选择考试计划", function (s) { return s.name; });
          site.disabled = !plan.value;
          if (site.value) { return load("site"); }
          fill(subject, [], "请选择", null);
        } else {
          fill(subject, data.subjects, "请选择", function (s) { return s.label; });
        }
        message.textContent = data.message || "";
        form.removeAttribute("data-loading");
      })
      .catch(function () {
        message.textContent = "未能读取站点和科目，请刷新页面后重试。";
        form.removeAttribute("data-loading");
      });
  }

  plan.addEventListener("change", function () { load("plan"); });
  site.addEventListener("change", function () { load("site"); });
})();
