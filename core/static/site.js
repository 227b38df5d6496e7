// Small helpers for pages that work without them: live countdowns and focus on form errors.
(function () {
  "use strict";

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function describe(seconds) {
    if (seconds <= 0) { return "0초"; }
    var days = Math.floor(seconds / 86400);
    var h = Math.floor((seconds % 86400) / 3600);
    var m = Math.floor((seconds % 3600) / 60);
    var s = seconds % 60;
    var text = (days ? days + "일 " : "") + (days || h ? h + "시간 " : "") + pad(m) + "분 " + pad(s) + "초";
    return text;
  }

  // <time data-countdown datetime="ISO"> counts down to its moment; data-expired-text says
  // what to show once it has passed (a hold that ran out, booking that opened).
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      var until = Date.parse(el.getAttribute("datetime"));
      if (isNaN(until)) { return; }
      var left = Math.round((until - now) / 1000);
      if (left <= 0) {
        el.textContent = el.getAttribute("data-expired-text") || "0초";
        if (el.hasAttribute("data-reload-when-done") && !el.dataset.reloaded) {
          el.dataset.reloaded = "1";
          window.location.reload();
        }
      } else {
        el.textContent = describe(left);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (document.querySelector("[data-countdown]")) {
      tick();
      window.setInterval(tick, 1000);
    }
    var errors = document.getElementById("form-errors");
    if (errors) { errors.focus(); }
    // A form marked data-once is sent once: a double click must not send it again.
    document.querySelectorAll("form[data-once]").forEach(function (form) {
      form.addEventListener("submit", function () {
        form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
      });
    });
  });
})();
