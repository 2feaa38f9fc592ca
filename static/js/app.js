// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";

  // Show <time datetime> values in the viewer's own time zone.
  function localizeTimes(root) {
    root.querySelectorAll("time[datetime]:not([data-local])").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) return;
      el.title = el.textContent;
      el.textContent = d.toLocaleString(undefined, {
        weekday: "short", day: "numeric", month: "short", year: "numeric",
        hour: "2-digit", minute: "2-digit"
      });
      el.dataset.local = "1";
    });
  }

  document.addEventListener("DOMContentLoaded", function () { localizeTimes(document); });
  document.addEventListener("htmx:after:swap", function (e) { localizeTimes(document); });
})();
