// Bracket drawings (templates/partials/bracket.html): zoom, fit, fullscreen, drag to pan,
// round and state filters, and an entrant's path lit on hover or tap. The server
// already placed every card and line, so nothing here measures or moves them; without this
// file the page is the same bracket, scrollable. Live swaps (app.js) replace cards by id:
// the filters and the lit path are applied again after each swap.
(function () {
  "use strict";

  var ZOOMS = [0.25, 0.35, 0.5, 0.65, 0.8, 1, 1.25, 1.5];
  var zoom = parseFloat(sessionStorage.getItem("bracket-zoom") || "1") || 1;
  var lit = null;  // {root, seed, pinned}
  var chosen = {phase: "", round: ""};  // the filters, kept when a live update redraws it all

  function roots() { return document.querySelectorAll("[data-bracket]"); }

  function setup(root) {
    if (root.dataset.ready) return;
    root.dataset.ready = "1";
    var tools = root.querySelector("[data-bracket-tools]");
    if (tools) tools.hidden = false;
    var full = root.querySelector('[data-zoom="full"]');
    if (full && !document.fullscreenEnabled) full.hidden = true;
    applyZoom(root, zoom, false);
    root.querySelectorAll("[data-filter]").forEach(function (select) {
      var value = chosen[select.dataset.filter] || "";
      if (select.querySelector('option[value="' + CSS.escape(value) + '"]')) select.value = value;
    });
    filter(root);
  }

  // --- zoom -------------------------------------------------------------------------------

  function applyZoom(root, value, keepCentre) {
    root.querySelectorAll(".bracket-viewport").forEach(function (vp) {
      var canvas = vp.firstElementChild;
      var old = parseFloat(root.style.getPropertyValue("--zoom") || "1");
      var cx = (vp.scrollLeft + vp.clientWidth / 2) / old;
      var cy = (vp.scrollTop + vp.clientHeight / 2) / old;
      root.style.setProperty("--zoom", value);
      if (keepCentre && canvas) {
        vp.scrollLeft = cx * value - vp.clientWidth / 2;
        vp.scrollTop = cy * value - vp.clientHeight / 2;
      }
    });
    root.style.setProperty("--zoom", value);
    var level = root.querySelector(".bracket-tools__level");
    if (level) level.textContent = Math.round(value * 100) + "%";
  }

  function step(value, direction) {
    var next = direction > 0 ? ZOOMS.find(function (z) { return z > value + 0.001; })
      : ZOOMS.slice().reverse().find(function (z) { return z < value - 0.001; });
    return next || value;
  }

  function fit(root) {
    var best = 1.5;
    root.querySelectorAll(".bracket-viewport").forEach(function (vp) {
      var canvas = vp.firstElementChild;
      var w = parseFloat(canvas.style.width), h = parseFloat(canvas.style.height);
      var room = parseFloat(getComputedStyle(vp).maxHeight) || vp.clientHeight;
      best = Math.min(best, vp.clientWidth / w, room / h);
    });
    return Math.max(ZOOMS[0], Math.min(1.5, best));
  }

  function setZoom(root, value) {
    zoom = value;
    sessionStorage.setItem("bracket-zoom", String(value));
    applyZoom(root, value, true);
  }

  document.addEventListener("click", function (e) {
    var button = e.target.closest("[data-zoom]");
    var root = button && button.closest("[data-bracket]");
    if (!root) return;
    var action = button.dataset.zoom;
    if (action === "in" || action === "out") setZoom(root, step(zoom, action === "in" ? 1 : -1));
    else if (action === "fit") setZoom(root, fit(root));
    else if (action === "full") {
      if (document.fullscreenElement) document.exitFullscreen();
      else root.requestFullscreen().catch(function () {});
    }
  });

  document.addEventListener("fullscreenchange", function () {
    document.querySelectorAll('[data-zoom="full"]').forEach(function (b) {
      b.textContent = b.closest("[data-bracket]") === document.fullscreenElement
        ? "Exit fullscreen" : "Fullscreen";
    });
  });

  // --- filters ----------------------------------------------------------------------------

  function filter(root) {
    var phase = (root.querySelector('[data-filter="phase"]') || {}).value || "";
    var round = (root.querySelector('[data-filter="round"]') || {}).value || "";
    root.querySelectorAll(".bracket-col").forEach(function (col) {
      var other = round && col.dataset.round !== round;
      col.querySelectorAll(".match").forEach(function (card) {
        card.classList.toggle("is-dimmed", !!(other || (phase && card.dataset.phase !== phase)));
      });
    });
  }

  document.addEventListener("change", function (e) {
    var select = e.target.closest("[data-filter]");
    var root = select && select.closest("[data-bracket]");
    if (!root) return;
    chosen[select.dataset.filter] = select.value;
    filter(root);
    if (select.dataset.filter === "round" && select.value) {
      // A phone shows one round at a time: bring the chosen one (the first of it) into view.
      var col = root.querySelector('.bracket-col[data-round="' + CSS.escape(select.value) + '"]');
      if (col) {
        var vp = col.closest(".bracket-viewport");
        vp.scrollTo({left: col.offsetLeft * zoom - 8, behavior: "smooth"});
        col.closest(".bracket-section").scrollIntoView({block: "nearest"});
      }
    }
  });

  // --- an entrant's path ------------------------------------------------------------------

  function clearPath() {
    document.querySelectorAll(".is-path").forEach(function (el) { el.classList.remove("is-path"); });
  }

  function showPath(root, seed) {
    clearPath();
    var numbers = {};
    root.querySelectorAll('[data-seed="' + seed + '"]').forEach(function (el) {
      el.classList.add("is-path");
      var card = el.closest(".match");
      if (card) { card.classList.add("is-path"); numbers[card.dataset.match] = true; }
    });
    root.querySelectorAll(".bracket-lines path").forEach(function (line) {
      if (numbers[line.dataset.from] && numbers[line.dataset.to]) line.classList.add("is-path");
    });
  }

  function light(el, pinned) {
    var root = el.closest("[data-bracket]");
    if (!root) return;
    lit = {root: root, seed: el.dataset.seed, pinned: pinned};
    showPath(root, lit.seed);
  }

  document.addEventListener("pointerover", function (e) {
    if (e.pointerType !== "mouse" || (lit && lit.pinned)) return;
    var el = e.target.closest && e.target.closest(".bracket [data-seed]");
    if (el) light(el, false);
    else if (lit && !e.target.closest(".bracket")) { lit = null; clearPath(); }
  });

  document.addEventListener("click", function (e) {
    var el = e.target.closest(".bracket [data-seed]");
    if (el && !e.target.closest("a")) {
      var same = lit && lit.pinned && lit.seed === el.dataset.seed && lit.root.contains(el);
      if (same) { lit = null; clearPath(); } else light(el, true);
    } else if (lit && lit.pinned && !e.target.closest("[data-bracket-tools]")) {
      lit = null;
      clearPath();
    }
  });

  // --- drag to pan (a mouse; fingers scroll natively) -----------------------------------

  var drag = null;
  document.addEventListener("pointerdown", function (e) {
    var vp = e.pointerType === "mouse" && e.button === 0 && e.target.closest(".bracket-viewport");
    if (!vp || e.target.closest("a, button, select, input")) return;
    drag = {vp: vp, x: e.clientX, y: e.clientY, left: vp.scrollLeft, top: vp.scrollTop, moved: false};
  });
  document.addEventListener("pointermove", function (e) {
    if (!drag) return;
    var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 5) return;
    drag.moved = true;
    drag.vp.classList.add("is-panning");
    drag.vp.scrollLeft = drag.left - dx;
    drag.vp.scrollTop = drag.top - dy;
  });
  document.addEventListener("pointerup", function () {
    if (!drag) return;
    var moved = drag.moved;
    drag.vp.classList.remove("is-panning");
    drag = null;
    if (!moved) return;
    // A drag is not a click on the card under the pointer (that click comes right now).
    var stop = function (e) { e.stopPropagation(); e.preventDefault(); };
    document.addEventListener("click", stop, true);
    setTimeout(function () { document.removeEventListener("click", stop, true); }, 0);
  });

  // --- setup, and again after live swaps --------------------------------------------------

  function refresh() {
    roots().forEach(function (root) {
      setup(root);
      filter(root);
    });
    if (lit) {
      var root = document.body.contains(lit.root) ? lit.root : null;
      if (root) showPath(root, lit.seed); else lit = null;
    }
  }

  document.addEventListener("DOMContentLoaded", refresh);
  document.addEventListener("htmx:after:swap", refresh);
})();
