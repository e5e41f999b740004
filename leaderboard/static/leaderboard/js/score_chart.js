// The About page's figure of the score: drawn from the JSON the server embedded.
(function () {
  "use strict";
  var holder = document.getElementById("score-chart");
  var source = document.getElementById("score-figure");
  if (!holder || !source || !window.Plotly) { return; }
  var figure = JSON.parse(source.textContent);
  Plotly.newPlot(holder, figure.data, figure.layout, {responsive: true, displaylogo: false});
})();
