// Node telemetry charts: one line per device, four metrics, range 1 h / 24 h / 7 d. Data from the
// node's telemetry.json; Chart.js is served locally (static/vendor), no CDN.
(function () {
  "use strict";
  const root = document.getElementById("charts");
  if (!root || !window.Chart) return;
  const labels = JSON.parse(root.dataset.labels);
  const palette = ["#0b5cad", "#1aa3a3", "#d97706", "#7c3aed", "#dc2626", "#059669", "#db2777", "#4b5563"];
  const charts = {};

  function timeLabel(iso, range) {
    const d = new Date(iso);
    const opts = range === "7d" ? { month: "2-digit", day: "2-digit", hour: "2-digit" } : { hour: "2-digit", minute: "2-digit" };
    return d.toLocaleString(document.documentElement.lang || undefined, opts);
  }

  function draw(data) {
    const empty = document.getElementById("charts-empty");
    const hasData = data.devices.some((d) => d.points.length);
    empty.hidden = hasData;
    empty.textContent = root.dataset.empty;
    root.hidden = !hasData;
    if (!hasData) return;
    const axis = data.devices[0].points.map((p) => timeLabel(p.t, data.range));
    Object.keys(labels).forEach((metric) => {
      const datasets = data.devices.map((device, i) => ({
        label: "GPU " + device.index,
        data: device.points.map((p) => p[metric]),
        borderColor: palette[i % palette.length],
        backgroundColor: palette[i % palette.length],
        borderWidth: 1.5, pointRadius: 0, tension: 0.2,
      }));
      const config = {
        type: "line",
        data: { labels: axis, datasets: datasets },
        options: {
          animation: false, responsive: true, maintainAspectRatio: false,
          plugins: { title: { display: true, text: labels[metric] }, legend: { position: "bottom" } },
          scales: { y: Object.assign({ beginAtZero: metric !== "temperature_c" }, metric === "utilization_pct" ? { max: 100 } : {}), x: { ticks: { maxTicksLimit: 8 } } },
        },
      };
      if (charts[metric]) charts[metric].destroy();
      charts[metric] = new window.Chart(document.getElementById("chart-" + metric), config);
    });
  }

  function load(range) {
    document.querySelectorAll(".range-switch button").forEach((b) => b.classList.toggle("active", b.dataset.range === range));
    fetch(root.dataset.url + "?range=" + encodeURIComponent(range), { credentials: "same-origin" })
      .then((r) => r.json()).then(draw);
  }

  let current = "1h";
  document.querySelectorAll(".range-switch button").forEach((b) => b.addEventListener("click", () => { current = b.dataset.range; load(current); }));
  load(current);
  setInterval(() => { if (current === "1h") load(current); }, 15000);
})();
