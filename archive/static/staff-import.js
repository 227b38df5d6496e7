// An import's progress while its job runs: its counts are asked for every two seconds, and
// the page is loaded again (with its per-line report) once the job has ended.
(function () {
  "use strict";
  var region = document.querySelector("[data-poll]");
  if (!region) { return; }
  var url = region.getAttribute("data-poll");
  var timer = window.setInterval(function () {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (state) {
        if (!state) { return; }
        Object.keys(state).forEach(function (key) {
          var field = region.querySelector("[data-field='" + key + "']");
          if (field) { field.textContent = state[key]; }
        });
        if (state.status === "done" || state.status === "failed") {
          window.clearInterval(timer);
          window.location.reload();
        }
      })
      .catch(function () { /* asked again at the next tick */ });
  }, 2000);
})();
