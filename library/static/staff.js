// The librarians' fleet dashboard: the table region marked data-refresh reloads itself every
// N seconds (the same page fetched again, only that region replaced), and a polite status line
// says when. Without the script the page is a plain page with a link to reload it.
(function () {
  "use strict";

  function refresh(region, status) {
    if (document.hidden) { return; }
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var newRegion = fresh.getElementById(region.id);
        var newStatus = status && fresh.getElementById(status.id);
        if (!newRegion) { return; }
        // Keep the focus where it was when it sits on a link inside the table.
        var focused = document.activeElement && region.contains(document.activeElement)
          ? document.activeElement.getAttribute("href") : null;
        region.innerHTML = newRegion.innerHTML;
        if (focused) {
          var again = region.querySelector("a[href='" + focused + "']");
          if (again) { again.focus(); }
        }
        if (newStatus) { status.textContent = newStatus.textContent + " (자동 갱신)"; }
      })
      .catch(function () {
        if (status) { status.textContent = "자동 갱신에 실패했습니다. 새로 고침을 눌러 주세요."; }
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-refresh]").forEach(function (region) {
      var seconds = parseInt(region.getAttribute("data-refresh"), 10);
      if (!(seconds > 0)) { return; }
      var status = document.getElementById(region.getAttribute("data-refresh-status"));
      window.setInterval(function () { refresh(region, status); }, seconds * 1000);
      // Another script (or a test) may ask for a reload now.
      region.addEventListener("refresh", function () { refresh(region, status); });
    });
  });
})();
