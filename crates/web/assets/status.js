// Live refresh of the status page: when the server says something changed, the live
// section is replaced with the fragment it sent. Without JavaScript the page is complete.
(function () {
  "use strict";
  if (!window.EventSource) { return; }
  var live = document.getElementById("live");
  if (!live) { return; }
  var lang = document.documentElement.lang || "en";
  var source = new EventSource("/status/events?lang=" + encodeURIComponent(lang));
  source.addEventListener("change", function (event) {
    live.innerHTML = event.data;
  });
})();
