// The live check: when files are chosen, send them to the check endpoint (nothing is
// stored) and show each problem under the file it concerns, before the form is sent.
(function () {
  "use strict";
  var form = document.getElementById("submit-form");
  if (!form) { return; }
  var input = form.querySelector("input[type=file]");
  var results = document.getElementById("check-results");

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function groups(problems) {
    var byFile = new Map();
    problems.forEach(function (p) {
      var key = p.file || "";
      if (!byFile.has(key)) { byFile.set(key, []); }
      byFile.get(key).push(p);
    });
    return byFile;
  }

  function showProblems(problems) {
    results.replaceChildren();
    groups(problems).forEach(function (items, file) {
      var box = element("div", "problem-group");
      box.dataset.file = file;
      var title = element("h3");
      if (file) { title.appendChild(element("code", "", file)); } else { title.textContent = "Your upload"; }
      box.appendChild(title);
      var list = element("ul");
      items.forEach(function (p) {
        var item = element("li", "error", (p.line ? "line " + p.line + ": " : "") + p.message);
        item.dataset.code = p.code;
        list.appendChild(item);
      });
      box.appendChild(list);
      results.appendChild(box);
    });
  }

  function showSummary(summary) {
    results.replaceChildren(element("p", "ok",
      "Files look right: " + summary.points + " operating point(s) on " +
      summary.tasks.join(", ") + "; cost " + summary.cost + "." +
      (summary.ignored.length ? " Ignored: " + summary.ignored.join(", ") + "." : "")));
  }

  input.addEventListener("change", function () {
    if (!input.files.length) { results.replaceChildren(); return; }
    var data = new FormData();
    Array.prototype.forEach.call(input.files, function (f) { data.append("files", f); });
    data.append("csrfmiddlewaretoken", form.querySelector("[name=csrfmiddlewaretoken]").value);
    results.replaceChildren(element("p", "muted", "Checking your files…"));
    form.dataset.checked = "pending";
    fetch(form.dataset.checkUrl, {method: "POST", body: data, credentials: "same-origin"})
      .then(function (response) { return response.json(); })
      .then(function (body) {
        if (body.ok) { showSummary(body.summary); } else { showProblems(body.problems); }
        form.dataset.checked = body.ok ? "ok" : "problems";
      })
      .catch(function () {
        results.replaceChildren(element("p", "error", "The check could not run; the files will be checked when you submit."));
        form.dataset.checked = "error";
      });
  });
})();
