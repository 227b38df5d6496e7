// The check-in desk's camera: where the browser reads QR codes itself (BarcodeDetector), a
// button reads the resident's code with the camera, fills the code field and sends the form.
// Without it the page is the same: the code is typed, or typed by a scanner.
(function () {
  "use strict";

  var form = document.querySelector("form[data-scan]");
  if (!form || !("BarcodeDetector" in window) || !navigator.mediaDevices) { return; }
  var button = form.querySelector("[data-scan-start]");
  var video = form.querySelector("video[data-scan-video]");
  var input = form.querySelector("input[name=code]");
  var status = form.querySelector("[data-scan-status]");
  button.hidden = false;

  button.addEventListener("click", function () {
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
      function stop() {
        stream.getTracks().forEach(function (track) { track.stop(); });
        video.hidden = true;
      }
      function look() {
        detector.detect(video).then(function (codes) {
          if (codes.length) {
            input.value = codes[0].rawValue;
            stop();
            status.textContent = "코드를 읽었습니다. 확인 중입니다.";
            form.submit();
          } else {
            window.requestAnimationFrame(look);
          }
        }, function () { window.requestAnimationFrame(look); });
      }
      video.srcObject = stream;
      video.hidden = false;
      video.play();
      status.textContent = "QR 코드를 카메라에 비춰 주세요.";
      look();
    }, function () {
      status.textContent = "카메라를 쓸 수 없습니다. 코드를 입력해 주세요.";
    });
  });
})();
