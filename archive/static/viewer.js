// The record page's image viewer. A thumbnail's link opens its large image in a dialog, to
// zoom (buttons, the + and − keys, the mouse wheel) and move around (arrow keys, dragging).
// Without this script the link simply opens the large image.
(function () {
  "use strict";

  var MIN = 1;
  var MAX = 8;
  var STEP = 1.5;
  var PAN = 80; // pixels an arrow key moves the view
  var dialog, frame, stage, image, caption, status, opener, drag, pager, pageLabel;
  var manifest = null; // the promise of the record's manifest, read once
  var canvases = [];
  var current = -1; // the canvas shown (-1: the plain display image)
  var service = null; // { base, width, height, tile, factors } of the canvas shown
  var tiles = {};
  var pending = false;
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
    var limitX = Math.max(0, (stage.offsetWidth * scale - frame.clientWidth) / 2);
    var limitY = Math.max(0, (stage.offsetHeight * scale - frame.clientHeight) / 2);
    x = Math.max(-limitX, Math.min(limitX, x));
    y = Math.max(-limitY, Math.min(limitY, y));
  }

  function apply() {
    clamp();
    // Set through the CSSOM, which the page's policy allows (style attributes it does not).
    stage.style.transform = "translate(" + x + "px, " + y + "px) scale(" + scale + ")";
    var percent = Math.round(scale * 100);
    if (percent !== announced) {
      announced = percent;
      status.textContent = "확대 " + percent + "%";
    }
    if (service && !pending) {
      pending = true;
      window.requestAnimationFrame(function () { pending = false; showTiles(); });
    }
  }

  // The stage's size: the picture fitted into the frame.
  function fit(width, height) {
    var ratio = Math.min(frame.clientWidth / width, frame.clientHeight / height);
    stage.style.width = Math.max(1, Math.floor(width * ratio)) + "px";
    stage.style.height = Math.max(1, Math.floor(height * ratio)) + "px";
  }

  function path(url) { return new URL(url, window.location.href).pathname; }

  function readManifest(url) {
    if (!manifest) {
      manifest = window.fetch(url, { headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("manifest " + response.status); }
          return response.json();
        })
        .then(function (body) {
          canvases = body.items.map(function (canvas) {
            var body = canvas.items[0].items[0].body;
            return {
              label: canvas.label && (canvas.label.ko || canvas.label.none || [""])[0],
              width: canvas.width,
              height: canvas.height,
              service: path(body.service[0].id)
            };
          });
          return canvases;
        });
    }
    return manifest;
  }

  function clearTiles() {
    Object.keys(tiles).forEach(function (key) { tiles[key].remove(); });
    tiles = {};
  }

  // The tiles of the part in view, at the coarsest scale factor that still gives at least one
  // of the picture's pixels for each pixel shown.
  function showTiles() {
    if (!service || scale <= 1) { clearTiles(); return; }
    var shownWidth = stage.offsetWidth * scale * (window.devicePixelRatio || 1);
    var factor = 1;
    service.factors.forEach(function (f) {
      if (f <= service.width / shownWidth && f > factor) { factor = f; }
    });
    var per = service.width / stage.offsetWidth; // picture pixels per stage pixel
    var halfW = frame.clientWidth / 2 / scale;
    var halfH = frame.clientHeight / 2 / scale;
    var left = Math.max(0, (stage.offsetWidth / 2 - x / scale - halfW) * per);
    var right = Math.min(service.width, (stage.offsetWidth / 2 - x / scale + halfW) * per);
    var top = Math.max(0, (stage.offsetHeight / 2 - y / scale - halfH) * per);
    var bottom = Math.min(service.height, (stage.offsetHeight / 2 - y / scale + halfH) * per);
    var span = service.tile * factor;
    var wanted = {};
    for (var row = Math.floor(top / span); row * span < bottom; row++) {
      for (var col = Math.floor(left / span); col * span < right; col++) {
        var tx = col * span;
        var ty = row * span;
        var tw = Math.min(span, service.width - tx);
        var th = Math.min(span, service.height - ty);
        var key = factor + ":" + col + ":" + row;
        wanted[key] = true;
        if (tiles[key]) { continue; }
        var tile = document.createElement("img");
        tile.className = "viewer-tile";
        tile.alt = "";
        tile.draggable = false;
        tile.style.left = (tx / service.width * 100) + "%";
        tile.style.top = (ty / service.height * 100) + "%";
        tile.style.width = (tw / service.width * 100) + "%";
        tile.style.height = (th / service.height * 100) + "%";
        tile.src = service.base + "/" + [tx, ty, tw, th].join(",") + "/" +
          Math.ceil(tw / factor) + ",/0/default.jpg";
        stage.append(tile);
        tiles[key] = tile;
      }
    }
    Object.keys(tiles).forEach(function (key) {
      if (!wanted[key]) { tiles[key].remove(); delete tiles[key]; }
    });
  }

  // One canvas of the manifest: its image service's information, then a first picture of
  // the size the frame needs (one of the sizes the service lists).
  function showCanvas(index) {
    var canvas = canvases[index];
    current = index;
    service = null;
    clearTiles();
    pager.hidden = canvases.length < 2;
    pageLabel.textContent = (index + 1) + " / " + canvases.length + (canvas.label ? " · " + canvas.label : "");
    image.removeAttribute("src");
    fit(canvas.width, canvas.height);
    reset();
    return window.fetch(canvas.service + "/info.json", { headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("info " + response.status); }
        return response.json();
      })
      .then(function (info) {
        if (current !== index) { return; }
        var need = stage.offsetWidth * (window.devicePixelRatio || 1);
        var sizes = (info.sizes || []).slice().sort(function (a, b) { return a.width - b.width; });
        var size = sizes.filter(function (s) { return s.width >= need; })[0] || sizes[sizes.length - 1];
        service = {
          base: canvas.service,
          width: info.width,
          height: info.height,
          tile: info.tiles[0].width,
          factors: info.tiles[0].scaleFactors
        };
        image.src = canvas.service + "/full/" + size.width + "," + size.height + "/0/default.jpg";
        apply();
      });
  }

  function step(by) {
    if (canvases.length > 1 && current >= 0) {
      showCanvas((current + by + canvases.length) % canvases.length);
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
    PageDown: function () { step(1); },
    PageUp: function () { step(-1); },
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
    pager = document.createElement("div");
    pager.className = "viewer-tools viewer-pager";
    pageLabel = document.createElement("span");
    pager.append(button("이전 이미지", function () { step(-1); }), pageLabel,
                 button("다음 이미지", function () { step(1); }));
    pager.hidden = true;
    tools.append(pager);
    status = paragraph("viewer-status");
    status.setAttribute("aria-live", "polite");
    frame = document.createElement("div");
    frame.className = "viewer-frame";
    stage = document.createElement("div");
    stage.className = "viewer-stage";
    image = document.createElement("img");
    image.className = "viewer-base";
    image.draggable = false;
    stage.append(image);
    frame.append(stage);
    dialog.append(caption, tools, status, frame,
                  paragraph("viewer-help", "+ 확대, − 축소, 화살표 키 이동, 0 원래 크기, Page Up/Down 이전·다음 이미지, Esc 닫기"));
    document.body.append(dialog);

    dialog.addEventListener("keydown", onKey);
    dialog.addEventListener("close", function () {
      drag = null;
      service = null;
      clearTiles();
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
    image.addEventListener("load", function () {
      if (current < 0) { fit(image.naturalWidth, image.naturalHeight); }
      apply();
    });
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
    current = -1;
    service = null;
    clearTiles();
    pager.hidden = true;
    dialog.showModal();
    var section = link.closest("[data-manifest]");
    var plain = function () {
      current = -1;
      service = null;
      image.src = link.href;
      apply();
    };
    if (!section || !window.fetch || !link.dataset.iiifImage) { plain(); return; }
    readManifest(section.dataset.manifest).then(function (found) {
      var index = -1;
      found.forEach(function (canvas, i) {
        if (index < 0 && canvas.service === link.dataset.iiifImage) { index = i; }
      });
      if (index < 0) { throw new Error("no canvas"); }
      return showCanvas(index);
    }).catch(plain);
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
