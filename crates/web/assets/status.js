// Live refresh of the status page: when the server says something changed, the live
// section is replaced with the fragment it sent. When the live stream is refused (too
// many open) or lost for good, the live section is reloaded from the page every 30
// seconds instead. Without JavaScript the page is complete.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live) { return; }
  var lang = document.documentElement.lang || "en";
  var polling = null;
  function reload() {
    if (!window.fetch || !window.DOMParser) { return; }
    fetch("/status?lang=" + encodeURIComponent(lang), { cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("live");
        if (fresh) { live.innerHTML = fresh.innerHTML; }
      })
      .catch(function () {});
  }
  function fallBack() {
    if (polling === null) { polling = window.setInterval(reload, 30000); }
  }
  if (!window.EventSource) { fallBack(); return; }
  var source = new EventSource("/status/events?lang=" + encodeURIComponent(lang));
  source.addEventListener("change", function (event) {
    live.innerHTML = event.data;
  });
  source.addEventListener("error", function () {
    // CLOSED: refused (429/503) or not an event stream; the browser will not retry.
    if (source.readyState === EventSource.CLOSED) { fallBack(); }
  });
})();
