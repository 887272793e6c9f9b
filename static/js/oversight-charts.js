// Oversight charts: KPI rates per day and compute delivered per day. Data is embedded in the page
// (data-chart); Chart.js is served locally (static/vendor), no CDN.
(function () {
  "use strict";
  const rates = document.getElementById("oversight-rates");
  if (!rates || !window.Chart) return;
  const data = JSON.parse(rates.dataset.chart);
  const palette = ["#0b5cad", "#d97706", "#059669", "#7c3aed"];
  new window.Chart(rates, {
    type: "line",
    data: {
      labels: data.labels,
      datasets: data.rates.map((series, i) => ({
        label: series.label, data: series.data, borderColor: palette[i % palette.length],
        backgroundColor: palette[i % palette.length], borderWidth: 1.5, pointRadius: 1, tension: 0.2, spanGaps: false,
      })),
    },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false,
      plugins: { legend: { position: "bottom" } },
      scales: { y: { beginAtZero: true, max: 100, ticks: { callback: (v) => v + " %" } }, x: { ticks: { maxTicksLimit: 10 } } },
    },
  });
  const delivered = document.getElementById("oversight-delivered");
  if (!delivered) return;
  new window.Chart(delivered, {
    type: "bar",
    data: { labels: data.labels, datasets: [{ label: data.delivered.label, data: data.delivered.data, backgroundColor: "#1aa3a3" }] },
    options: { animation: false, responsive: true, maintainAspectRatio: false, plugins: { legend: { position: "bottom" } },
               scales: { y: { beginAtZero: true }, x: { ticks: { maxTicksLimit: 10 } } } },
  });
})();
