// The record page's image viewer. A thumbnail's link opens its large image in a dialog, to
// zoom (buttons, the + and − keys, the mouse wheel) and move around (arrow keys, dragging).
// Without this script the link simply opens the large image.
(function () {
  "use strict";

  var MIN = 1;
  var MAX = 8;
  var STEP = 1.5;
  var PAN = 80; // pixels an arrow key moves the view
  var dialog, frame, image, caption, status, opener, drag;
  var scale = 1;
  var x = 0;
  var y = 0;
  var announced = null;

  function button(text, action) {
    var element = document.createElement("button");
    element.type = "button";
    element.textContent = text;
    element.addEventListener("click", action);
    return element;
  }

  function paragraph(className, text) {
    var element = document.createElement("p");
    element.className = className;
    if (text) { element.textContent = text; }
    return element;
  }

  // Keep the image over the frame: it cannot be moved further than its enlarged edges.
  function clamp() {
    var limitX = Math.max(0, (image.offsetWidth * scale - frame.clientWidth) / 2);
    var limitY = Math.max(0, (image.offsetHeight * scale - frame.clientHeight) / 2);
    x = Math.max(-limitX, Math.min(limitX, x));
    y = Math.max(-limitY, Math.min(limitY, y));
  }

  function apply() {
    clamp();
    // Set through the CSSOM, which the page's policy allows (style attributes it does not).
    image.style.transform = "translate(" + x + "px, " + y + "px) scale(" + scale + ")";
    var percent = Math.round(scale * 100);
    if (percent !== announced) {
      announced = percent;
      status.textContent = "확대 " + percent + "%";
    }
  }

  function zoomTo(value) {
    scale = Math.max(MIN, Math.min(MAX, value));
    apply();
  }
  function zoomIn() { zoomTo(scale * STEP); }
  function zoomOut() { zoomTo(scale / STEP); }
  function reset() { scale = 1; x = 0; y = 0; apply(); }
  function move(dx, dy) { x += dx; y += dy; apply(); }
  function close() { dialog.close(); }

  var KEYS = {
    "+": zoomIn,
    "=": zoomIn,
    "-": zoomOut,
    "_": zoomOut,
    "\u2212": zoomOut,
    "0": reset,
    // An arrow shows more of that side: the image moves the other way.
    ArrowLeft: function () { move(PAN, 0); },
    ArrowRight: function () { move(-PAN, 0); },
    ArrowUp: function () { move(0, PAN); },
    ArrowDown: function () { move(0, -PAN); }
  };

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var action = KEYS[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  }

  function build() {
    dialog = document.createElement("dialog");
    dialog.className = "viewer";
    dialog.setAttribute("aria-labelledby", "viewer-caption");
    caption = paragraph("viewer-caption");
    caption.id = "viewer-caption";
    var tools = document.createElement("div");
    tools.className = "viewer-tools";
    tools.append(button("+ 확대", zoomIn), button("− 축소", zoomOut),
                 button("원래 크기", reset), button("닫기", close));
    status = paragraph("viewer-status");
    status.setAttribute("aria-live", "polite");
    frame = document.createElement("div");
    frame.className = "viewer-frame";
    image = document.createElement("img");
    image.draggable = false;
    frame.append(image);
    dialog.append(caption, tools, status, frame,
                  paragraph("viewer-help", "+ 확대, − 축소, 화살표 키 이동, 0 원래 크기, Esc 닫기"));
    document.body.append(dialog);

    dialog.addEventListener("keydown", onKey);
    dialog.addEventListener("close", function () {
      drag = null;
      if (opener) { opener.focus(); }
    });
    frame.addEventListener("wheel", function (event) {
      event.preventDefault();
      if (event.deltaY < 0) { zoomIn(); } else if (event.deltaY > 0) { zoomOut(); }
    }, { passive: false });
    frame.addEventListener("pointerdown", function (event) {
      drag = { x: event.clientX - x, y: event.clientY - y };
      frame.setPointerCapture(event.pointerId);
    });
    frame.addEventListener("pointermove", function (event) {
      if (!drag) { return; }
      x = event.clientX - drag.x;
      y = event.clientY - drag.y;
      apply();
    });
    ["pointerup", "pointercancel"].forEach(function (name) {
      frame.addEventListener(name, function () { drag = null; });
    });
    image.addEventListener("load", apply);
  }

  function open(link) {
    if (!dialog) { build(); }
    opener = link;
    var thumbnail = link.querySelector("img");
    image.alt = thumbnail ? thumbnail.alt : "";
    caption.textContent = image.alt;
    scale = 1;
    x = 0;
    y = 0;
    announced = null;
    image.src = link.href;
    dialog.showModal();
    apply();
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (typeof HTMLDialogElement === "undefined") { return; } // the plain link stays
    document.querySelectorAll("a[data-viewer]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        // A new tab or window (modifier keys, middle button) still gets the plain image.
        if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) {
          return;
        }
        event.preventDefault();
        open(link);
      });
    });
  });
})();
