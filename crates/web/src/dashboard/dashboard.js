// Continuo dashboard: live sections over server-sent events. Without this script every
// page still works; it only saves a reload. When /events says "health" or "incidents",
// the page is fetched again and each section marked data-live="... word ..." is
// replaced by its new version, unless someone is typing in it.
(function () {
  "use strict";
  if (!window.EventSource || !window.fetch || !window.DOMParser) {
    return;
  }
  var status = document.getElementById("live-status");
  var pending = {};
  var busy = false;

  function busyTyping(section) {
    var active = document.activeElement;
    if (!active || !section.contains(active)) {
      return false;
    }
    var tag = active.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  }

  function refresh() {
    if (busy) {
      return;
    }
    var kinds = Object.keys(pending);
    if (kinds.length === 0) {
      return;
    }
    pending = {};
    busy = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (text) {
        if (!text) {
          return;
        }
        var fresh = new DOMParser().parseFromString(text, "text/html");
        kinds.forEach(function (kind) {
          var sections = document.querySelectorAll("[data-live~='" + kind + "']");
          Array.prototype.forEach.call(sections, function (section) {
            var replacement = fresh.getElementById(section.id);
            if (replacement && !busyTyping(section)) {
              section.innerHTML = replacement.innerHTML;
            }
          });
        });
        if (status) {
          status.textContent = status.getAttribute("data-updated") + " " + new Date().toLocaleTimeString();
        }
      })
      .catch(function () {})
      .then(function () {
        busy = false;
        refresh();
      });
  }

  function connect() {
    var source = new EventSource("/events");
    ["health", "incidents"].forEach(function (kind) {
      source.addEventListener(kind, function () {
        pending[kind] = true;
        refresh();
      });
    });
    source.onopen = function () {
      document.documentElement.setAttribute("data-live", "connected");
    };
  }
  connect();
})();
