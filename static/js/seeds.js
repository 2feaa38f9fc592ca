// Manual seeds (templates/pages/brackets/seeds.html): reorder the rows by dragging their
// handle, with the "move up/down" buttons (keyboard, touch), or by typing a seed number; the
// number inputs are renumbered in row order, so the form sends the order shown. Without this
// file the organizer types the numbers and the server sorts by them.
(function () {
  "use strict";

  function rows(list) {
    return Array.prototype.slice.call(list.querySelectorAll("[data-seed-row]"));
  }

  function input(row) { return row.querySelector("input[type=number]"); }

  function name(row) { return row.querySelector(".seed-row__name").textContent; }

  function renumber(list) {
    rows(list).forEach(function (row, index) { input(row).value = String(index + 1); });
  }

  function announce(list, row) {
    var status = list.parentNode.querySelector("[data-seed-status]");
    if (status) status.textContent = name(row) + " is now seed " + input(row).value + ".";
  }

  function moveTo(list, row, index) {
    var others = rows(list).filter(function (r) { return r !== row; });
    list.insertBefore(row, others[index] || null);
    renumber(list);
    announce(list, row);
  }

  function enhance(list) {
    list.querySelectorAll("[data-seed-moves], [data-drag-handle]").forEach(function (el) {
      el.hidden = false;
    });
    list.classList.add("seed-list--enhanced");

    list.addEventListener("click", function (event) {
      var button = event.target.closest("[data-move]");
      if (!button) return;
      var row = button.closest("[data-seed-row]");
      var index = rows(list).indexOf(row) + (button.dataset.move === "up" ? -1 : 1);
      if (index < 0 || index >= rows(list).length) return;
      moveTo(list, row, index);
      button.focus();
    });

    // Typing a seed moves the row there (so two rows never share a number).
    list.addEventListener("change", function (event) {
      var row = event.target.closest("[data-seed-row]");
      if (!row || event.target !== input(row)) return;
      var wanted = parseInt(event.target.value, 10);
      if (isNaN(wanted) || wanted < 1 || wanted > rows(list).length) return;
      moveTo(list, row, wanted - 1);
    });

    var dragged = null;
    // Only the handle starts a drag: inputs inside a draggable row would lose text selection.
    list.addEventListener("pointerdown", function (event) {
      var handle = event.target.closest("[data-drag-handle]");
      if (handle) handle.closest("[data-seed-row]").draggable = true;
    });
    list.addEventListener("dragstart", function (event) {
      dragged = event.target.closest && event.target.closest("[data-seed-row]");
      if (!dragged || !dragged.draggable) { event.preventDefault(); return; }
      dragged.classList.add("seed-row--dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", name(dragged));
    });
    list.addEventListener("dragover", function (event) {
      if (!dragged) return;
      event.preventDefault();
      var over = event.target.closest && event.target.closest("[data-seed-row]");
      if (!over || over === dragged) return;
      var box = over.getBoundingClientRect();
      var after = event.clientY > box.top + box.height / 2;
      list.insertBefore(dragged, after ? over.nextSibling : over);
    });
    list.addEventListener("drop", function (event) { if (dragged) event.preventDefault(); });
    list.addEventListener("dragend", function () {
      if (!dragged) return;
      dragged.classList.remove("seed-row--dragging");
      dragged.draggable = false;
      renumber(list);
      announce(list, dragged);
      dragged = null;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-seed-list]").forEach(enhance);
  });
})();
