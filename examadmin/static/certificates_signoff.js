// The school's sign-off screen: waits for the signer's phone, then moves on by itself.
// Served as a file: the CSP allows no inline script.
(function () {
  "use strict";
  var box = document.getElementById("signoff-wait");
  if (!box) { return; }
  var statusUrl = box.getAttribute("data-status-url");
  var doneUrl = box.getAttribute("data-done-url");
  var note = box.querySelector("[data-signoff-field=note]");
  function poll() {
    fetch(statusUrl, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (s.confirmed) { window.location.assign(doneUrl); return; }
        if (s.expired) {
          note.textContent = "二维码已过期，请返回重新签发。";
          box.setAttribute("data-state", "expired");
          return;
        }
        setTimeout(poll, 1500);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 1500);
})();
