// hpdash pages: draw Plotly figures embedded as JSON, and keep live pages up to date while
// work runs. The job page polls a small JSON delta (?format=live); other pages re-fetch their
// parts marked data-live-part.
(function () {
  "use strict";

  const POLL_MS = 3000;
  const FIGURES_MIN_MS = 10000;  // a running job's charts refresh at most this often

  function draw(id, fig) {
    const div = document.getElementById(id);
    if (!div || !window.Plotly) return Promise.resolve();
    return Plotly.react(div, fig.data, fig.layout, { responsive: true, displaylogo: false });
  }

  function drawAll(figures) {
    const pending = [];
    for (const [key, fig] of Object.entries(figures)) {
      if (Array.isArray(fig)) fig.forEach((f, i) => pending.push(draw("chart-" + key + "-" + i, f)));
      else pending.push(draw("chart-" + key, fig));
    }
    return Promise.all(pending);
  }

  // The page is "ready" (for people and for the benchmark) once every chart is drawn.
  function renderCharts() {
    const el = document.getElementById("figures");
    const done = el ? drawAll(JSON.parse(el.textContent)) : Promise.resolve();
    return done.then(function () {
      document.documentElement.dataset.chartsReady = "1";
      document.dispatchEvent(new CustomEvent("hpdash:charts"));
    });
  }

  function fillFilterForm() {
    // Names with dots cannot be looked up in a template: fill param inputs from the URL.
    const el = document.getElementById("active-filter");
    if (!el) return;
    const active = JSON.parse(el.textContent);
    document.querySelectorAll("#trial-filter [data-param]").forEach(function (input) {
      if (active[input.name] !== undefined) input.value = active[input.name];
    });
  }

  function keepChecked(swap) {
    const checked = new Set(Array.from(document.querySelectorAll("input[type=checkbox]:checked"))
      .map((c) => c.name + "=" + c.value));
    swap();
    document.querySelectorAll("input[type=checkbox]").forEach(function (c) {
      if (checked.has(c.name + "=" + c.value)) c.checked = true;
    });
  }

  function replaceWithHtml(id, html) {
    const old = document.getElementById(id);
    if (!old) return;
    const tpl = document.createElement("template");
    tpl.innerHTML = html.trim();
    if (tpl.content.firstElementChild) old.replaceWith(tpl.content.firstElementChild);
  }

  async function getJson(url) {
    try {
      const resp = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      return resp.ok ? await resp.json() : null;
    } catch (e) { return null; }
  }

  // The job page: one small JSON request every few seconds; the summary, the table, the
  // state badge and the Cancel button follow it; the charts are fetched again only when
  // their data changed (and not more often than FIGURES_MIN_MS).
  function startJobLive(root) {
    let version = "";
    let figuresVersion = (document.getElementById("figures") || {}).dataset?.version || "";
    let figuresAt = Date.now();
    let timer = null;

    async function refreshFigures(next) {
      const figures = await getJson(root.dataset.figuresUrl);
      if (!figures) return;
      figuresVersion = next;
      figuresAt = Date.now();
      await drawAll(figures);
    }

    async function tick() {
      const delta = await getJson(root.dataset.liveUrl + "&since=" + encodeURIComponent(version));
      if (!delta) return;
      version = delta.version;
      if (!delta.changed) return;
      keepChecked(function () {
        replaceWithHtml("job-summary", delta.summary);
        replaceWithHtml("trial-table", delta.table);
      });
      const cancel = document.getElementById("cancel-form");
      if (cancel) cancel.hidden = !delta.can_cancel;
      if (delta.figures_version !== figuresVersion
          && (!delta.live || Date.now() - figuresAt >= FIGURES_MIN_MS)) {
        await refreshFigures(delta.figures_version);
      }
      if (!delta.live) {
        clearInterval(timer);
        root.dataset.live = "0";
      }
    }

    if (root.dataset.live === "1") timer = setInterval(tick, POLL_MS);
  }

  // Other pages: parts marked data-live-part are re-fetched (same URL + fragment=1).
  function startFragmentLive() {
    const root = document.querySelector("[data-live-part][data-live]");
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
      keepChecked(function () {
        doc.querySelectorAll("[data-live-part]").forEach(function (part) {
          const old = document.getElementById(part.id);
          if (old) old.replaceWith(document.importNode(part, true));
        });
      });
      const state = doc.querySelector("[data-live]");
      renderCharts();
      document.dispatchEvent(new CustomEvent("hpdash:fragment"));
      if (state && state.dataset.live !== "1") { clearInterval(timer); root.dataset.live = "0"; }
    }, POLL_MS);
  }

  window.hpdash = { drawAll: drawAll };

  document.addEventListener("DOMContentLoaded", function () {
    fillFilterForm();
    renderCharts();
    const jobLive = document.getElementById("job-live");
    if (jobLive) startJobLive(jobLive);
    else startFragmentLive();
  });
})();
