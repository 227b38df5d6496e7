// The record form's helpers; the form works without them. The date is read by the server's
// own parser as one types; scans are sent one request per file, with each file's progress
// and the server's answer in words; thumbnails appear as their processing ends.
(function () {
  "use strict";

  // --- the date, read as typed ---------------------------------------------------------
  var dateInput = document.querySelector("[data-date-preview]");
  var reading = document.getElementById("date-reading");
  if (dateInput && reading) {
    var timer = null;
    var asked = 0;
    dateInput.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        var ask = ++asked;
        var url = dateInput.getAttribute("data-date-preview") + "?text=" + encodeURIComponent(dateInput.value);
        fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (answer) {
            if (answer && ask === asked) { reading.textContent = answer.label || "(날짜 없음)"; }
          })
          .catch(function () { /* the saved form shows the reading anyway */ });
      }, 250);
    });
  }

  // --- scans: drag and drop, a request per file, progress --------------------------------
  var form = document.querySelector("form.arc-upload");
  if (!form || !window.FormData || !window.XMLHttpRequest) { return; }
  var input = form.querySelector("input[type=file]");
  var progress = document.getElementById("upload-progress");
  var token = form.querySelector("input[name=csrf_token]").value;
  var statesUrl = form.getAttribute("data-media-states");
  var polling = null;

  function statusText(status) {
    if (status === 413) { return "파일이 너무 큽니다."; }
    if (status === 400) { return "페이지가 만료되었습니다. 새로 고친 뒤 다시 올려 주세요."; }
    return "올리지 못했습니다 (" + status + "). 다시 해 주세요.";
  }

  function send(file) {
    var item = document.createElement("li");
    var label = document.createElement("span");
    label.textContent = file.name + ": ";
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", file.name + " 올리는 중");
    var said = document.createElement("span");
    said.className = "arc-said";
    said.textContent = "올리는 중";
    item.appendChild(label);
    item.appendChild(bar);
    item.appendChild(said);
    progress.appendChild(item);

    var data = new FormData();
    data.append("csrf_token", token);
    data.append("file", file, file.name);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) { bar.value = Math.round((event.loaded / event.total) * 100); }
    });
    xhr.addEventListener("load", function () {
      var answer = null;
      try { answer = JSON.parse(xhr.responseText); } catch (e) { answer = null; }
      var outcome = answer && answer.files && answer.files[0];
      bar.value = 100;
      if (outcome) {
        said.textContent = outcome.message;
        item.className = outcome.ok ? "ok" : "error";
        if (outcome.ok) { watch(); }
      } else {
        said.textContent = (answer && answer.message) || statusText(xhr.status);
        item.className = "error";
      }
    });
    xhr.addEventListener("error", function () {
      said.textContent = "연결이 끊겨 올리지 못했습니다. 다시 해 주세요.";
      item.className = "error";
    });
    xhr.send(data);
  }

  function sendAll(files) {
    for (var i = 0; i < files.length; i++) { send(files[i]); }
  }

  form.addEventListener("submit", function (event) {
    if (!input.files.length) { return; }  // the server says a file is needed
    event.preventDefault();
    sendAll(input.files);
    input.value = "";
  });
  ["dragenter", "dragover"].forEach(function (name) {
    form.addEventListener(name, function (event) { event.preventDefault(); form.classList.add("dragging"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    form.addEventListener(name, function () { form.classList.remove("dragging"); });
  });
  form.addEventListener("drop", function (event) {
    event.preventDefault();
    if (event.dataTransfer && event.dataTransfer.files.length) { sendAll(event.dataTransfer.files); }
  });

  // --- thumbnails as they become ready ---------------------------------------------------
  function mediaList() {
    var list = document.getElementById("media-list");
    if (!list) {
      list = document.createElement("ul");
      list.id = "media-list";
      list.className = "arc-media";
      var empty = document.getElementById("media-empty");
      if (empty) { empty.parentNode.replaceChild(list, empty); } else { form.parentNode.appendChild(list); }
    }
    return list;
  }

  function render(state) {
    var list = mediaList();
    var card = list.querySelector("[data-media-id='" + state.id + "']");
    if (!card) {
      card = document.createElement("li");
      card.className = "card";
      card.setAttribute("data-media-id", state.id);
      list.appendChild(card);
    }
    if (card.getAttribute("data-status") === state.status && card.getAttribute("data-ocr") === state.ocr_status) { return; }
    card.setAttribute("data-status", state.status);
    card.setAttribute("data-ocr", state.ocr_status);
    card.textContent = "";
    if (state.thumbnail_url) {
      var img = document.createElement("img");
      img.src = state.thumbnail_url;
      img.alt = (state.filename || "스캔") + "의 작은 그림";
      img.width = 128;
      card.appendChild(img);
    } else {
      var wait = document.createElement("span");
      wait.className = "arc-thumb-wait";
      wait.textContent = "작은 그림 준비 중";
      card.appendChild(wait);
    }
    var name = document.createElement("p");
    name.className = "arc-name";
    name.textContent = state.filename || "(이름 없음)";
    var status = document.createElement("p");
    status.textContent = state.status_label + " · " + state.ocr_label;
    card.appendChild(name);
    card.appendChild(status);
    if (state.failure_reason) {
      var reason = document.createElement("p");
      reason.className = "small";
      reason.textContent = state.failure_reason;
      card.appendChild(reason);
    }
    var link = document.createElement("p");
    var a = document.createElement("a");
    a.href = state.text_url;
    a.textContent = "글자 보기·고치기 (" + (state.filename || state.id) + ")";
    link.appendChild(a);
    card.appendChild(link);
  }

  function refresh() {
    fetch(statesUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (answer) {
        if (!answer) { return; }
        var waiting = false;
        answer.media.forEach(function (state) {
          render(state);
          if (state.status === "processing") { waiting = true; }
        });
        if (!waiting) { window.clearInterval(polling); polling = null; }
      })
      .catch(function () { /* tried again at the next tick */ });
  }

  function watch() {
    refresh();
    if (!polling) { polling = window.setInterval(refresh, 2000); }
  }

  if (document.querySelector("#media-list [data-status='processing']")) { watch(); }
})();
