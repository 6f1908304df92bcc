// The staff portal's only script (served from /static, CSP script-src 'self'):
// copy buttons for one-time links, confirmation before destructive forms, and the trend chart's
// read-out of exact values.
"use strict";

function copyText(input) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(input.value);
  }
  input.select();
  return document.execCommand("copy") ? Promise.resolve() : Promise.reject(new Error("copy"));
}

function setUpCopyButtons() {
  document.querySelectorAll("button[data-copy-target]").forEach(function (button) {
    button.addEventListener("click", function () {
      var input = document.getElementById(button.getAttribute("data-copy-target"));
      if (!input) { return; }
      copyText(input).then(
        function () { button.textContent = "Copied"; button.classList.add("copied"); },
        function () { input.select(); button.textContent = "Press Ctrl+C"; }
      );
    });
  });
}

function setUpConfirmations() {
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
}

// The trend chart's read-out: the exact figures of the day under the pointer (or chosen with the
// arrow keys while the chart has focus), this period and the previous one, from the page's JSON
// data block. The chart itself is complete without this.
function setUpTrendReadout() {
  var figure = document.getElementById("trend-figure");
  var data = document.getElementById("trend-data");
  var out = document.getElementById("trend-readout");
  var svg = figure ? figure.querySelector("svg") : null;
  if (!figure || !data || !out || !svg) { return; }
  var days = JSON.parse(data.textContent).days;
  if (!days.length) { return; }
  var left = parseFloat(svg.getAttribute("data-plot-left"));
  var width = parseFloat(svg.getAttribute("data-plot-width"));
  var viewWidth = svg.viewBox.baseVal.width;
  var line = document.createElementNS("http://www.w3.org/2000/svg", "line");
  line.setAttribute("class", "hover-line");
  line.setAttribute("y1", "30");
  line.setAttribute("y2", String(svg.viewBox.baseVal.height - 20));
  line.setAttribute("stroke", "#1d1f23");
  line.setAttribute("stroke-width", "1");
  line.setAttribute("visibility", "hidden");
  svg.appendChild(line);
  var current = -1;

  function show(index) {
    current = Math.max(0, Math.min(days.length - 1, index));
    var day = days[current];
    var parts = [];
    Object.keys(day.values).forEach(function (name) {
      var pair = day.values[name];
      parts.push(name + " " + (pair[0] === null ? "no data" : pair[0]) +
        " (previous " + (pair[1] === null ? "no data" : pair[1]) + ")");
    });
    out.textContent = day.day + " vs " + day.previousDay + ": " + parts.join(" · ");
    var x = days.length > 1 ? left + width * current / (days.length - 1) : left + width / 2;
    line.setAttribute("x1", String(x));
    line.setAttribute("x2", String(x));
    line.setAttribute("visibility", "visible");
  }

  svg.addEventListener("mousemove", function (event) {
    var box = svg.getBoundingClientRect();
    var x = (event.clientX - box.left) * viewWidth / box.width;
    var step = days.length > 1 ? width / (days.length - 1) : width;
    show(Math.round((x - left) / step));
  });
  figure.addEventListener("keydown", function (event) {
    if (event.key === "ArrowRight") { show(current + 1); event.preventDefault(); }
    if (event.key === "ArrowLeft") { show(current < 0 ? days.length - 1 : current - 1); event.preventDefault(); }
    if (event.key === "Home") { show(0); event.preventDefault(); }
    if (event.key === "End") { show(days.length - 1); event.preventDefault(); }
  });
}

document.addEventListener("DOMContentLoaded", function () {
  setUpCopyButtons();
  setUpConfirmations();
  setUpTrendReadout();
});
