// hpdash pages: draw Plotly figures embedded as JSON, and refresh live parts while work runs.
(function () {
  "use strict";

  function draw(id, fig) {
    const div = document.getElementById(id);
    if (div && window.Plotly) {
      Plotly.react(div, fig.data, fig.layout, { responsive: true, displaylogo: false });
    }
  }

  function renderCharts() {
    const el = document.getElementById("figures");
    if (!el) return;
    const figures = JSON.parse(el.textContent);
    for (const [key, fig] of Object.entries(figures)) {
      if (Array.isArray(fig)) fig.forEach((f, i) => draw("chart-" + key + "-" + i, f));
      else draw("chart-" + key, fig);
    }
  }

  // Parts marked data-live-part are re-fetched (same URL + fragment=1) every few seconds while
  // the page says data-live="1"; checked boxes survive the swap.
  function startLive() {
    const root = document.querySelector("[data-live]");
    if (!root || root.dataset.live !== "1") return;
    const url = new URL(window.location.href);
    url.searchParams.set("fragment", "1");
    const timer = setInterval(async function () {
      let resp;
      try {
        resp = await fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } });
      } catch (e) { return; }
      if (!resp.ok) return;
      const doc = new DOMParser().parseFromString(await resp.text(), "text/html");
      const checked = new Set(Array.from(document.querySelectorAll("input[type=checkbox]:checked"))
        .map((c) => c.name + "=" + c.value));
      doc.querySelectorAll("[data-live-part]").forEach(function (part) {
        const old = document.getElementById(part.id);
        if (old) old.replaceWith(document.importNode(part, true));
      });
      document.querySelectorAll("input[type=checkbox]").forEach(function (c) {
        if (checked.has(c.name + "=" + c.value)) c.checked = true;
      });
      const state = doc.querySelector("[data-live]");
      renderCharts();
      if (state && state.dataset.live !== "1") { clearInterval(timer); root.dataset.live = "0"; }
    }, 3000);
  }

  document.addEventListener("DOMContentLoaded", function () { renderCharts(); startLive(); });
})();
