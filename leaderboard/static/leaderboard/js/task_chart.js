// The task chart: draws the figure the server built (both axes in one JSON), switches
// between MFLOPs and MParams, and opens an entry's page when one of its points is clicked.
(function () {
  "use strict";
  var holder = document.getElementById("task-chart");
  var source = document.getElementById("task-figures");
  if (!holder || !source || !window.Plotly) { return; }
  var figures = JSON.parse(source.textContent);
  var config = {responsive: true, displaylogo: false};

  // On a phone the legend of every entry would cover the chart: hovering names the curves.
  function fitted(layout) {
    if (window.innerWidth >= 600) { return layout; }
    return Object.assign({}, layout, {showlegend: false, height: 380,
                                      margin: {l: 50, r: 10, t: 10, b: 50}});
  }

  function show(axis) {
    var figure = figures[axis];
    Plotly.react(holder, figure.data, fitted(figure.layout), config);
    document.querySelectorAll("[data-axis]").forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.dataset.axis === axis));
    });
    holder.dataset.axis = axis;
  }

  document.querySelectorAll("[data-axis]").forEach(function (button) {
    button.addEventListener("click", function () { show(button.dataset.axis); });
  });
  show("mflops");
  holder.on("plotly_click", function (event) {
    var point = event.points && event.points[0];
    if (point && point.customdata) { window.location.href = point.customdata; }
  });
})();
