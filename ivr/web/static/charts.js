// Results charts (Chart.js, served from the package): outcomes by day and by hour, stacked bars.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("chart-data").textContent);
  var palette = ["#0b6e4f", "#2e90fa", "#f79009", "#d92d20", "#7a5af8", "#667085", "#12b76a", "#ee46bc",
                 "#0e9384", "#b54708", "#6172f3", "#98a2b3", "#fdb022", "#4e5ba6", "#e31b54", "#15b79e",
                 "#875bf7", "#a15c07", "#344054"];
  function chart(id, labels, key) {
    new Chart(document.getElementById(id), {
      type: "bar",
      data: { labels: labels, datasets: data.series.map(function (s, i) {
        return { label: s.label, data: s[key], backgroundColor: palette[i % palette.length] }; }) },
      options: { animation: false, maintainAspectRatio: false, responsive: true,
                 plugins: { legend: { position: "right", labels: { boxWidth: 10, font: { size: 11 } } } },
                 scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } }
    });
  }
  chart("chart-day", data.days, "day");
  chart("chart-hour", data.hours, "hour");
})();
