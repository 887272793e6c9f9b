// Usage by day: one bar per day of the month, in yuan. The data is in the canvas' data-chart attribute;
// Chart.js is served locally (static/vendor), no CDN.
(function () {
  const canvas = document.getElementById("usage-chart");
  if (!canvas || !window.Chart) return;
  const data = JSON.parse(canvas.dataset.chart);
  new window.Chart(canvas, {
    type: "bar",
    data: { labels: data.labels, datasets: [{ label: data.label, data: data.values, backgroundColor: "#2563eb" }] },
    options: {
      responsive: true, maintainAspectRatio: false, animation: false,
      scales: { y: { beginAtZero: true, ticks: { callback: (v) => "¥" + v } } },
      plugins: { legend: { display: false } },
    },
  });
})();
