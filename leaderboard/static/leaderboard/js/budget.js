// The budget explorer without page loads. As the visitor types, the form is sent (GET: the
// same URL a plain submit loads, so the server does all the filtering and ranking), the parts
// of the page marked data-budget-region are swapped in from the answer, and the address bar
// takes the new URL: shareable, and a reload shows the same view. Without JavaScript the form
// is an ordinary GET form.
(function () {
  "use strict";
  var form = document.querySelector("[data-budget-form]");
  if (!form || !window.fetch || !window.DOMParser || !window.URLSearchParams) { return; }
  var timer = null;
  var latest = 0;

  // Blank inputs are left out of the URL: "no limit" needs no parameter.
  function target() {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, name) {
      if (String(value).trim() !== "") { params.append(name, value); }
    });
    var query = params.toString();
    return window.location.pathname + (query ? "?" + query : "");
  }

  function swap(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    document.querySelectorAll("[data-budget-region]").forEach(function (region) {
      var replacement = fresh.getElementById(region.id);
      if (replacement) { region.innerHTML = replacement.innerHTML; }
    });
  }

  function update() {
    var url = target();
    var ticket = ++latest;
    form.setAttribute("aria-busy", "true");
    fetch(url, {credentials: "same-origin"}).then(function (response) {
      return response.text();  // a 400 carries the page with the form's errors
    }).then(function (html) {
      if (ticket !== latest) { return; }  // a newer budget is already on its way
      swap(html);
      window.history.replaceState(null, "", url);
      form.removeAttribute("aria-busy");
      document.dispatchEvent(new CustomEvent("budget:updated", {detail: {url: url}}));
    }).catch(function () { window.location.href = url; });
  }

  form.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(update, 250);
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    window.clearTimeout(timer);
    update();
  });
})();
