// Check-in on a phone: the camera reads the ticket's QR code with the browser's own
// BarcodeDetector (Chrome on Android, Safari 17+) and posts the token; the result replaces
// the result card. Without a camera or BarcodeDetector the ticket-number form works as a
// normal form post.
(function () {
  "use strict";
  var form = document.getElementById("checkin-form");
  var button = document.getElementById("scan-start");
  var video = document.getElementById("scan-video");
  var note = document.getElementById("scan-note");
  var resultBox = document.getElementById("checkin-result");
  if (!form || !("BarcodeDetector" in window) || !navigator.mediaDevices) {
    if (note) note.textContent = "此浏览器不支持扫码，请输入准考证号签到。";
    return;
  }
  var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
  var busy = false, lastToken = "", lastAt = 0;

  function show(data, ok) {
    var card = document.createElement("div");
    card.className = "card mb-3 border-" + (ok ? (data.status === "checked_in" ? "success" : "warning") : "danger");
    var body = document.createElement("div");
    body.className = "card-body d-flex gap-3";
    if (ok && data.photo_url) {
      var img = document.createElement("img");
      img.src = data.photo_url; img.alt = "考生照片"; img.width = 120; img.height = 148;
      img.className = "border checkin-photo";
      body.appendChild(img);
    }
    var text = document.createElement("div");
    if (ok) {
      var name = document.createElement("div");
      name.className = "h4 mb-1"; name.textContent = data.name;
      text.appendChild(name);
      var seat = document.createElement("div");
      seat.className = "small"; seat.textContent = "准考证号 " + data.ticket_number + " · 座位号 " + data.seat;
      text.appendChild(seat);
    }
    var message = document.createElement("div");
    message.className = "mt-2 fw-semibold";
    message.textContent = data.message;
    text.appendChild(message);
    body.appendChild(text);
    card.appendChild(body);
    resultBox.replaceChildren(card);
  }

  function post(token) {
    var data = new FormData(form);
    data.set("token", token);
    data.set("ticket_number", "");
    busy = true;
    fetch(form.getAttribute("data-scan-url"), {
      method: "POST", body: data, headers: { "Accept": "application/json" }, credentials: "same-origin"
    }).then(function (response) {
      return response.json().then(function (json) { show(json, response.ok); });
    }).catch(function () {
      show({ message: "网络错误，请重试或输入准考证号。" }, false);
    }).finally(function () { busy = false; });
  }

  function scan() {
    if (!busy && video.readyState >= 2) {
      detector.detect(video).then(function (codes) {
        if (!codes.length) return;
        var token = codes[0].rawValue;
        var moment = Date.now();
        if (token === lastToken && moment - lastAt < 3000) return;  // the same ticket still in view
        lastToken = token; lastAt = moment;
        post(token);
      }).catch(function () {});
    }
    window.setTimeout(scan, 250);
  }

  button.hidden = false;
  button.addEventListener("click", function () {
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (stream) {
        video.srcObject = stream; video.hidden = false; button.hidden = true;
        video.play(); note.textContent = "将准考证上的二维码对准摄像头。";
        scan();
      }).catch(function () {
        note.textContent = "无法打开摄像头（需要 HTTPS 并允许使用摄像头），请输入准考证号签到。";
      });
  });
})();
