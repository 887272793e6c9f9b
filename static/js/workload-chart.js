// A workload's utilization chart: the card(s) it runs on, refreshed every 5 s while it is live.
// Chart.js is served locally (static/vendor), no CDN.
(function () {
  "use strict";
  const canvas = document.getElementById("usage-chart");
  if (!canvas || !window.Chart) return;
  const section = document.getElementById("usage-section");
  const empty = document.getElementById("usage-empty");
  const palette = ["#0b5cad", "#1aa3a3", "#d97706", "#7c3aed", "#dc2626", "#059669", "#db2777", "#4b5563"];
  let chart = null;

  function label(iso) {
    return new Date(iso).toLocaleTimeString(document.documentElement.lang || undefined,
      { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  function draw(data) {
    const points = data.devices.length ? data.devices[0].points : [];
    section.hidden = false;
    empty.hidden = points.length > 0;
    canvas.dataset.points = String(points.length);
    canvas.dataset.source = data.source || "";
    if (!points.length) return;
    const slice = data.source === "slice";
    const utilLabel = slice ? canvas.dataset.labelSlice : canvas.dataset.labelUtil;
    const memLabel = slice ? canvas.dataset.labelSliceMem : canvas.dataset.labelMem;
    const datasets = data.devices.map(function (device, i) {
      return { label: utilLabel + " · GPU " + device.index, yAxisID: "y",
               data: device.points.map(function (p) { return p.utilization_pct; }),
               borderColor: palette[i % palette.length], backgroundColor: palette[i % palette.length],
               borderWidth: 1.5, pointRadius: 0, tension: 0.2 };
    });
    if (data.share_pct !== null) {
      datasets.push({ label: canvas.dataset.labelShare, yAxisID: "y", data: points.map(function () { return data.share_pct; }),
                      borderColor: "#888", borderDash: [6, 4], borderWidth: 1, pointRadius: 0 });
    }
    data.devices.forEach(function (device, i) {
      datasets.push({ label: memLabel + " · GPU " + device.index, yAxisID: "mem",
                      data: device.points.map(function (p) { return Math.round(p.memory_used_mib / 102.4) / 10; }),
                      borderColor: palette[(i + 3) % palette.length], borderWidth: 1, pointRadius: 0, hidden: true });
    });
    const config = {
      type: "line",
      data: { labels: points.map(function (p) { return label(p.t); }), datasets: datasets },
      options: { animation: false, responsive: true, maintainAspectRatio: false,
                 plugins: { legend: { position: "bottom" } },
                 scales: { y: { beginAtZero: true, max: 100 }, mem: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false } },
                           x: { ticks: { maxTicksLimit: 8 } } } },
    };
    if (chart) chart.destroy();
    chart = new window.Chart(canvas, config);
  }

  function load() {
    fetch(canvas.dataset.url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(draw);
  }
  load();
  if (canvas.dataset.live === "1") setInterval(load, 5000);
})();
