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

// Live updates (app/realtime/, templates/partials/live.html). Each socket message starts
// with <template data-live-seq="N">: remember N so that every (re)connection asks the
// server for what came after it; show #live-status while the socket is down; and
// briefly highlight the elements a message replaced.
(function () {
  "use strict";

  var RECONNECT_CODES = [1001, 1005, 1006, 1011, 1012, 1013, 1014];  // hx-ws defaults
  var MARKER = /^<template data-live-seq="(\d+)">/;

  function liveSocket(el) {
    return el && el.hasAttribute && el.hasAttribute("data-live-socket") ? el : null;
  }

  function showStatus(down) {
    var status = document.getElementById("live-status");
    if (status) status.hidden = !down;
  }

  function withSince(url, seq) {
    var u = new URL(url, window.location.href);
    u.searchParams.set("since", seq);
    return u.toString();
  }

  document.addEventListener("htmx:ws:before:connection", function (e) {
    var el = liveSocket(e.target);
    if (el) e.detail.connection.url = withSince(e.detail.connection.url, el.dataset.liveSeq);
  });

  document.addEventListener("htmx:ws:after:connection", function (e) {
    if (liveSocket(e.target)) showStatus(false);
  });

  document.addEventListener("htmx:ws:close", function (e) {
    if (!liveSocket(e.target)) return;
    // 1008 (not allowed) and removed sockets do not come back: say nothing then.
    showStatus(e.detail.reason === "closed" && RECONNECT_CODES.indexOf(e.detail.code) >= 0);
  });

  document.addEventListener("htmx:ws:before:message:incoming", function (e) {
    var el = liveSocket(e.target);
    var data = e.detail.message.data;
    var match = el && typeof data === "string" && MARKER.exec(data);
    if (!match) return;
    var seq = parseInt(match[1], 10);
    // A replay may repeat what the page already shows: only highlight what is new.
    el._liveNew = seq > parseInt(el.dataset.liveSeq || "0", 10);
    el._liveSeq = seq;
  });

  document.addEventListener("htmx:before:swap", function (e) {
    var el = liveSocket(e.target);
    if (!el) return;
    var targets = (e.detail.tasks || []).filter(function (task) {
      return task.type === "oob" && task.target && task.target.id;
    }).map(function (task) { return task.target; });
    el._liveSwapped = targets.map(function (t) { return t.id; });
    el._liveBefore = {};
    targets.forEach(function (t) { el._liveBefore[t.id] = partsOf(t); });
  });

  // A region with data-live-parts (a list, counters) flashes only its [data-live-key] parts
  // whose key changed or that are new, not the whole region; <details id> keep their state.
  function partsOf(region) {
    var parts = {keys: {}, open: {}};
    region.querySelectorAll("[data-live-key]").forEach(function (part, i) {
      parts.keys[part.id || "#" + i] = part.dataset.liveKey;
    });
    region.querySelectorAll("details[id]").forEach(function (d) { parts.open[d.id] = d.open; });
    return parts;
  }

  function flash(element) {
    element.classList.add("flash-update");
    setTimeout(function () { element.classList.remove("flash-update"); }, 1300);
  }

  document.addEventListener("htmx:after:swap", function (e) {
    var el = liveSocket(e.target);
    if (!el) return;
    (el._liveSwapped || []).forEach(function (id) {
      var swapped = document.getElementById(id);
      var before = (el._liveBefore || {})[id];
      if (!swapped) return;
      if (before) {
        swapped.querySelectorAll("details[id]").forEach(function (d) {
          if (d.id in before.open) d.open = before.open[d.id];
        });
      }
      if (!el._liveNew) return;
      if (!swapped.hasAttribute("data-live-parts") || !before) return flash(swapped);
      swapped.querySelectorAll("[data-live-key]").forEach(function (part, i) {
        if (before.keys[part.id || "#" + i] !== part.dataset.liveKey && !part.hidden) flash(part);
      });
    });
    el._liveBefore = null;
  });

  // Parts of a page that depend on the viewer are never pushed: they carry data-refresh-src
  // and fetch themselves again over HTTP — with data-refresh-watch="#id" when the pushed
  // element #id shows a data-version other than theirs, with data-refresh-any after any
  // message of the page's socket.
  var refreshTimer = null;
  function refreshViewerParts() {
    refreshTimer = null;
    document.querySelectorAll("[data-refresh-src]").forEach(function (part) {
      var stale = part.hasAttribute("data-refresh-any");
      if (part.dataset.refreshWatch) {
        var watched = document.querySelector(part.dataset.refreshWatch);
        stale = watched && watched.dataset.version !== part.dataset.version;
      }
      if (stale && part._refreshing) {
        part._again = true;  // the fetch in flight may answer with what was true before
      } else if (stale) {
        part._refreshing = true;
        htmx.ajax("GET", part.dataset.refreshSrc, {target: part, swap: "outerHTML"})
          .then(function () { if (part._again) scheduleRefresh(); })
          .catch(function () { part._refreshing = false; });
      }
    });
  }

  function scheduleRefresh() {
    if (!refreshTimer) refreshTimer = setTimeout(refreshViewerParts, 150);  // one fetch for a burst
  }

  document.addEventListener("htmx:ws:after:message:incoming", function (e) {
    var el = liveSocket(e.target);
    if (el && el._liveSeq !== undefined) scheduleRefresh();
    if (!el || el._liveSeq === undefined) return;
    if (el._liveSeq > parseInt(el.dataset.liveSeq || "0", 10)) {
      el.dataset.liveSeq = String(el._liveSeq);
    }
    el._liveSeq = undefined;
    el._liveNew = false;
    // Also covers reconnects that skip htmx:ws:before:connection (page back from background).
    e.detail.connection.url = withSince(e.detail.connection.url, el.dataset.liveSeq);
  });
})();

// Buttons with data-confirm ask before their form is sent (the text is data, never code).
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-confirm]");
  if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
});

// A double click sends a form once: buttons are disabled right after the first submit
// (the server refuses duplicates too), and enabled again when the page comes back from history.
document.addEventListener("submit", function (event) {
  var buttons = event.target.querySelectorAll("button[type=submit], button:not([type])");
  if (event.defaultPrevented) return;
  setTimeout(function () {
    buttons.forEach(function (b) { if (!b.disabled) { b.disabled = true; b.dataset.autoDisabled = "1"; } });
  }, 0);
});
window.addEventListener("pageshow", function () {
  document.querySelectorAll("button[data-auto-disabled]").forEach(function (b) {
    b.disabled = false;
    delete b.dataset.autoDisabled;
  });
});

// A new tournament form starts in the organizer's own time zone (when the list has it).
document.addEventListener("DOMContentLoaded", function () {
  var select = document.querySelector("form[data-guess-timezone] select[name=timezone]");
  if (!select || select.value !== "UTC") return;
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone && select.querySelector('option[value="' + zone.replace(/"/g, "") + '"]')) select.value = zone;
});

// Registration panel: a "select all" box (hidden without JavaScript) ticks every row box of
// its form; compact table times are shown in the viewer's own zone.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("input[data-select-all]").forEach(function (all) {
    var boxes = all.form.querySelectorAll('input[type=checkbox][name="' + all.dataset.selectAll + '"]');
    function sync() {
      var ticked = Array.prototype.filter.call(boxes, function (b) { return b.checked; }).length;
      all.checked = ticked > 0 && ticked === boxes.length;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
    }
    all.hidden = false;
    all.addEventListener("change", function () {
      boxes.forEach(function (b) { b.checked = all.checked; });
    });
    boxes.forEach(function (b) { b.addEventListener("change", sync); });
    sync();
  });
  document.querySelectorAll('time[datetime][data-local="short"]').forEach(function (el) {
    var d = new Date(el.getAttribute("datetime"));
    if (isNaN(d)) return;
    el.title = el.textContent;
    el.textContent = d.toLocaleString(undefined, {
      day: "numeric", month: "short", hour: "2-digit", minute: "2-digit"
    });
  });
});

// The live matches list (templates/pages/public/matches.html): its filter form works without
// JavaScript (a GET); here it filters as the viewer types, and again after every push, since
// the pushed list is the same unfiltered one for everyone. The rule is live_view.Filters.shows.
(function () {
  "use strict";

  function applyLiveFilter() {
    var form = document.querySelector("form[data-live-filter]");
    var list = form && document.getElementById(form.dataset.liveFilter);
    if (!list) return;
    var state = form.elements.state.value;
    var round = form.elements.round.value;
    var q = form.elements.q.value.trim().split(/\s+/).join(" ").toLowerCase();
    var any = false;
    list.querySelectorAll("[data-live-group]").forEach(function (group) {
      var shown = 0;
      group.querySelectorAll("[data-group]").forEach(function (row) {
        row.hidden = !((!state || row.dataset.group === state) &&
                       (!round || row.dataset.round === round) &&
                       (!q || row.dataset.entrants.indexOf(q) >= 0));
        if (!row.hidden) shown++;
      });
      group.hidden = shown === 0;
      any = any || shown > 0;
    });
    var empty = list.querySelector("[data-live-empty]");
    if (empty) empty.hidden = any;
  }

  function remember(form) {
    var url = new URL(window.location.href);
    ["q", "state", "round"].forEach(function (name) {
      var value = form.elements[name].value.trim();
      if (value) url.searchParams.set(name, value); else url.searchParams.delete(name);
    });
    history.replaceState(null, "", url.toString());
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-live-filter]");
    if (!form) return;
    function update() { applyLiveFilter(); remember(form); }
    form.addEventListener("input", update);
    form.addEventListener("change", update);
    form.addEventListener("submit", function (event) { event.preventDefault(); update(); });
  });
  document.addEventListener("htmx:after:swap", applyLiveFilter);

  // Short times (`clock` in app/web/public/live_view.py) in the viewer's own zone.
  function localizeClocks() {
    document.querySelectorAll('time[datetime][data-local="clock"]').forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) return;
      el.title = d.toLocaleString();
      el.textContent = d.toLocaleString(undefined, {
        day: "numeric", month: "short", hour: "2-digit", minute: "2-digit"
      });
      el.dataset.local = "clock-done";
    });
  }
  document.addEventListener("DOMContentLoaded", localizeClocks);
  document.addEventListener("htmx:after:swap", localizeClocks);
})();
