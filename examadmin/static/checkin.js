// Check-in on a phone: the camera reads the ticket's QR code and the page posts the token;
// the result replaces the result card. The browser's own BarcodeDetector is used where it
// exists (Chrome on Android); elsewhere (Safari, Firefox) the vendored jsQR decodes frames
// drawn on a canvas. Without a camera the ticket-number form works as a normal form post.
(function () {
  "use strict";
  var form = document.getElementById("checkin-form");
  var button = document.getElementById("scan-start");
  var video = document.getElementById("scan-video");
  var note = document.getElementById("scan-note");
  var resultBox = document.getElementById("checkin-result");
  var native = "BarcodeDetector" in window;
  if (!form || !(native || window.jsQR) || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    if (note) note.textContent = "此浏览器不能打开摄像头扫码，请输入准考证号签到。";
    return;
  }
  var detector = native ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
  var canvas = document.createElement("canvas");
  var context = canvas.getContext("2d", { willReadFrequently: true });

  // One frame: a promise of the QR text, or "" when none is in view.
  function read() {
    if (detector) {
      return detector.detect(video).then(function (codes) { return codes.length ? codes[0].rawValue : ""; });
    }
    var scale = Math.min(1, 640 / Math.max(video.videoWidth, video.videoHeight));
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    var frame = context.getImageData(0, 0, canvas.width, canvas.height);
    var code = window.jsQR(frame.data, frame.width, frame.height, { inversionAttempts: "dontInvert" });
    return Promise.resolve(code ? code.data : "");
  }
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
      read().then(function (token) {
        if (!token) return;
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
