// The task chart: draws the figure the server built (both axes in one JSON), switches
// between MFLOPs and MParams, picks out the curve under the pointer (the others fade), opens
// an entry's page when one of its points is clicked, and redraws when the budget explorer
// (budget.js) brings a new figure.
(function () {
  "use strict";
  var holder = document.getElementById("task-chart");
  if (!holder || !window.Plotly) { return; }
  var config = {responsive: true, displaylogo: false};
  var FADED = 0.15;
  var figures = null;
  var axis = "mflops";

  function read() {
    var source = document.getElementById("task-figures");
    figures = source ? JSON.parse(source.textContent) : null;
  }

  // On a phone the legend of every entry would cover the chart: hovering names the curves.
  function fitted(layout) {
    if (window.innerWidth >= 600) { return layout; }
    return Object.assign({}, layout, {showlegend: false, height: 380,
                                      margin: {l: 50, r: 10, t: 10, b: 50}});
  }

  function show(name) {
    if (!figures) { return; }
    axis = name;
    var figure = figures[axis];
    Plotly.react(holder, figure.data, fitted(figure.layout), config);
    document.querySelectorAll("[data-axis]").forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.dataset.axis === axis));
    });
    holder.dataset.axis = axis;
  }

  // The entries' traces (the reference and the front carry no entry).
  function entryTraces() {
    var indices = [];
    holder.data.forEach(function (trace, i) { if (trace.meta && trace.meta.entry) { indices.push(i); } });
    return indices;
  }

  function highlight(hovered) {
    var indices = entryTraces();
    if (indices.indexOf(hovered) < 0) { return; }
    var base = figures[axis].data;
    Plotly.restyle(holder, {
      opacity: indices.map(function (i) { return i === hovered ? 1 : FADED; }),
      "line.width": indices.map(function (i) { return i === hovered ? 3.5 : 1.5; })
    }, indices);
    holder.dataset.highlighted = base[hovered].name;
  }

  function unhighlight() {
    var indices = entryTraces();
    var base = figures[axis].data;
    Plotly.restyle(holder, {
      opacity: indices.map(function (i) { return base[i].opacity === undefined ? 1 : base[i].opacity; }),
      "line.width": indices.map(function () { return 1.5; })
    }, indices);
    delete holder.dataset.highlighted;
  }

  document.querySelectorAll("[data-axis]").forEach(function (button) {
    button.addEventListener("click", function () { show(button.dataset.axis); });
  });
  document.addEventListener("budget:updated", function () { read(); show(axis); });
  read();
  show(axis);
  holder.on("plotly_click", function (event) {
    var point = event.points && event.points[0];
    if (point && point.customdata) { window.location.href = point.customdata; }
  });
  holder.on("plotly_hover", function (event) {
    var point = event.points && event.points[0];
    if (point) { highlight(point.curveNumber); }
  });
  holder.on("plotly_unhover", unhighlight);
})();
