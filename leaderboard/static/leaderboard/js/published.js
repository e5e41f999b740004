// "Add a row" for the published-entry form: a copy of Django's empty form with the next
// index, and the formset's TOTAL_FORMS raised to match.
(function () {
  "use strict";
  var button = document.getElementById("add-row");
  var template = document.getElementById("empty-row");
  var total = document.querySelector("[name$=TOTAL_FORMS]");
  if (!button || !template || !total) { return; }
  button.addEventListener("click", function () {
    var index = Number(total.value);
    var html = template.innerHTML.replace(/__prefix__/g, String(index));
    document.getElementById("point-rows").insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    var first = document.querySelector("[data-row='" + index + "'] select, [data-row='" + index + "'] input");
    if (first) { first.focus(); }
  });
})();
