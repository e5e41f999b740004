// The task chart: draws the figures the server built (every axis in one JSON), switches
// between MFLOPs, MParams and, per hardware profile, measured latency and energy, and opens an
// entry's page when one of its points is clicked.
(function () {
  "use strict";
  var holder = document.getElementById("task-chart");
  var source = document.getElementById("task-figures");
  if (!holder || !source || !window.Plotly) { return; }
  var figures = JSON.parse(source.textContent);
  var config = {responsive: true, displaylogo: false};
  var choice = document.querySelector(".profile-choice");
  var select = document.getElementById("profile-select");
  var empty = document.getElementById("profile-empty");
  var current = "mflops";

  // On a phone the legend of every entry would cover the chart: hovering names the curves.
  function fitted(layout) {
    if (window.innerWidth >= 600) { return layout; }
    return Object.assign({}, layout, {showlegend: false, height: 380,
                                      margin: {l: 50, r: 10, t: 10, b: 50}});
  }

  // A measured axis belongs to one hardware profile: the one chosen in the select.
  function figureFor(axis) {
    if (axis === "mflops" || axis === "mparams") { return figures[axis]; }
    var views = figures.measured[select.value] || {};
    return views[axis] || null;
  }

  function show(axis) {
    var measured = axis === "latency" || axis === "energy";
    var figure = figureFor(axis);
    if (choice) { choice.hidden = !measured; }
    if (empty) { empty.hidden = Boolean(figure); }
    // An empty chart rather than none, so the click handler stays attached.
    var shown = figure || {data: [], layout: {height: 200, xaxis: {visible: false},
                                              yaxis: {visible: false}}};
    Plotly.react(holder, shown.data, fitted(shown.layout), config);
    document.querySelectorAll("[data-axis]").forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.dataset.axis === axis));
    });
    holder.dataset.axis = axis;
    holder.dataset.profile = measured && select ? select.value : "";
    current = axis;
  }

  document.querySelectorAll("[data-axis]").forEach(function (button) {
    button.addEventListener("click", function () { show(button.dataset.axis); });
  });
  if (select) { select.addEventListener("change", function () { show(current); }); }
  show("mflops");
  holder.on("plotly_click", function (event) {
    var point = event.points && event.points[0];
    if (point && point.customdata) { window.location.href = point.customdata; }
  });
})();
