// Live status on "My submissions": poll the owner's status endpoint every 2 s while any
// submission is unfinished, and replace each card whose status changed.
(function () {
  "use strict";
  var list = document.getElementById("submissions");
  if (!list) { return; }
  var PERIOD = 2000;

  function unfinished() {
    return list.querySelector("[data-final=false]") !== null;
  }

  function update(items) {
    items.forEach(function (item) {
      var card = document.getElementById("submission-" + item.id);
      if (!card) { return; }  // submitted from another tab: shown on the next page load
      var fresh = card.dataset.status !== item.status || card.dataset.events !== String(item.events);
      if (fresh) {
        var open = card.querySelector("details.log") && card.querySelector("details.log").open;
        card.outerHTML = item.html;
        var replaced = document.getElementById("submission-" + item.id);
        var details = replaced.querySelector("details.log");
        if (details && open) { details.open = true; }
      }
    });
  }

  function poll() {
    if (!unfinished()) { return; }
    var ids = Array.prototype.map.call(list.querySelectorAll("[data-final=false]"),
      function (card) { return card.dataset.id; });
    fetch(list.dataset.statusUrl + "?ids=" + ids.join(","), {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) { if (body) { update(body.submissions); } })
      .catch(function () { /* a missed poll is retried on the next tick */ })
      .finally(function () { window.setTimeout(poll, PERIOD); });
  }
  window.setTimeout(poll, PERIOD);
})();
