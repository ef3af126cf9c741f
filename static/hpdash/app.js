// hpdash pages: draw Plotly figures embedded as JSON, and keep live pages up to date while
// work runs. The job page polls a small JSON delta (?format=live); other pages re-fetch their
// parts marked data-live-part.
(function () {
  "use strict";

  const POLL_MS = 3000;
  const FIGURES_MIN_MS = 10000;  // a running job's charts refresh at most this often

  // Charts are drawn when they come near the viewport: a 10,000-trial job page has seven,
  // and the parallel-coordinates plot alone takes seconds where WebGL runs in software. The
  // newest data of every chart is kept, so a chart drawn late shows the latest figures.
  const latest = {};
  const drawn = new Set();
  let observer = null;

  // plotly-strict.min.js (5.2 MB, 1.6 MB gzipped) is loaded when the first chart is drawn, or
  // once the page is idle: a page whose first screen is a table does not wait for it. Pages that
  // name it in <meta name="hpdash-plotly"> load it so; others include it as a script.
  let plotlyLoading = null;
  function loadPlotly() {
    if (window.Plotly) return Promise.resolve();
    const meta = document.querySelector("meta[name=hpdash-plotly]");
    if (!meta) return Promise.resolve();
    if (!plotlyLoading) {
      plotlyLoading = new Promise(function (resolve) {
        const script = document.createElement("script");
        script.src = meta.content;
        script.onload = resolve;
        script.onerror = resolve;
        document.head.appendChild(script);
      });
    }
    return plotlyLoading;
  }

  function plot(id) {
    const div = document.getElementById(id);
    const fig = latest[id];
    if (!div || !fig) return Promise.resolve();
    drawn.add(id);
    return loadPlotly().then(function () {
      if (!window.Plotly) return null;
      return Plotly.react(div, fig.data, fig.layout, { responsive: true, displaylogo: false });
    }).then(function () { div.dispatchEvent(new CustomEvent("hpdash:drawn", { bubbles: true })); });
  }

  function nearViewport(div) {
    const r = div.getBoundingClientRect();
    return r.bottom >= -200 && r.top <= window.innerHeight + 200;
  }

  function watch(id) {
    const div = document.getElementById(id);
    if (!div) return Promise.resolve();
    // Reserve the chart's height now, so drawing it later does not move what is below.
    const height = latest[id] && latest[id].layout && latest[id].layout.height;
    if (height) div.style.minHeight = height + "px";
    if (drawn.has(id) || nearViewport(div)) return plot(id);
    if (!observer) {
      observer = new IntersectionObserver(function (entries) {
        entries.forEach(function (e) {
          if (!e.isIntersecting) return;
          observer.unobserve(e.target);
          plot(e.target.id).then(checkAllDrawn);
        });
      }, { rootMargin: "200px" });
    }
    observer.observe(div);
    return Promise.resolve();
  }

  function checkAllDrawn() {
    if (Object.keys(latest).every((id) => drawn.has(id))) {
      document.documentElement.dataset.chartsDrawn = "1";
    }
  }

  // Draws (or queues) every figure; resolves once those near the viewport are drawn.
  function drawAll(figures) {
    const ids = [];
    for (const [key, fig] of Object.entries(figures)) {
      if (Array.isArray(fig)) fig.forEach(function (f, i) { latest["chart-" + key + "-" + i] = f; ids.push("chart-" + key + "-" + i); });
      else { latest["chart-" + key] = fig; ids.push("chart-" + key); }
    }
    return Promise.all(ids.map(watch)).then(checkAllDrawn);
  }

  // "Ready" (for people and for the benchmark): the page is parsed and every chart near the
  // viewport is drawn; data-charts-drawn says every chart on the page is.
  function renderCharts() {
    const el = document.getElementById("figures");
    const done = el ? drawAll(JSON.parse(el.textContent)) : Promise.resolve();
    return done.then(function () {
      document.documentElement.dataset.chartsReady = "1";
      document.dispatchEvent(new CustomEvent("hpdash:charts"));
      if (Object.keys(latest).length) (window.requestIdleCallback || setTimeout)(loadPlotly);
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
      if (contourChosen) delete figures.contour;
      figuresVersion = next;
      figuresAt = Date.now();
      await drawAll(figures);
    }

    async function tick(force) {
      const since = force === true ? "" : version;
      const delta = await getJson(root.dataset.liveUrl + "&since=" + encodeURIComponent(since));
      if (!delta) return;
      version = delta.version;
      if (!delta.changed) return;
      keepChecked(function () {
        replaceWithHtml("job-summary", delta.summary);
        replaceWithHtml("trial-table", delta.table);
      });
      const cancel = document.getElementById("cancel-form");
      if (cancel) cancel.hidden = !delta.can_cancel;
      if (force !== true && delta.figures_version !== figuresVersion
          && (!delta.live || Date.now() - figuresAt >= FIGURES_MIN_MS)) {
        await refreshFigures(delta.figures_version);
      }
      if (!delta.live) {
        clearInterval(timer);
        root.dataset.live = "0";
      }
    }

    if (root.dataset.live === "1") timer = setInterval(tick, POLL_MS);
    brushing(root, tick, refreshOthers);
    contourPickers(root);

    // After a brush: every chart but the one brushed follows the new filter.
    async function refreshOthers() {
      const figures = await getJson(root.dataset.figuresUrl);
      if (!figures) return;
      delete figures.parallel;
      if (contourChosen) delete figures.contour;
      await drawAll(figures);
    }
  }

  // Brushing: a range selected on a parallel-coordinates axis becomes that parameter's (or
  // the metric's) filter; the URL records it (history.replaceState) and the table, the summary
  // and the other charts follow.
  function brushFilter(div) {
    const meta = (div.layout.meta || {}).brush || [];
    const dims = div.data[0].dimensions;
    const params = new URLSearchParams(window.location.search);
    params.delete("page");
    meta.forEach(function (m, i) {
      params.delete(m.key + "__gte");
      params.delete(m.key + "__lte");
      if (m.kind === "category") params.delete(m.key);
      let range = dims[i] && dims[i].constraintrange;
      if (!range || !range.length) return;
      if (Array.isArray(range[0])) range = range[0];
      let lo = Math.min(range[0], range[1]);
      let hi = Math.max(range[0], range[1]);
      if (m.kind === "category") {
        const hit = m.categories.filter((c, j) => j >= lo && j <= hi);
        if (hit.length === 1) params.set(m.key, hit[0]);
        return;
      }
      if (m.kind === "log") { lo = Math.pow(10, lo); hi = Math.pow(10, hi); }
      params.set(m.key + "__gte", Number(lo.toPrecision(6)).toString());
      params.set(m.key + "__lte", Number(hi.toPrecision(6)).toString());
    });
    return params;
  }

  function brushing(root, tick, refreshOthers) {
    const div = document.getElementById("chart-parallel");
    if (!div) return;
    let wait = null;
    function attach() {
      if (!div.on || div.dataset.brushing) return;
      div.dataset.brushing = "1";
      div.on("plotly_restyle", function () {
        clearTimeout(wait);
        wait = setTimeout(function () {
          const params = brushFilter(div);
          const query = params.toString();
          window.history.replaceState(null, "", "?" + query);
          const base = query ? query + "&" : "";
          root.dataset.liveUrl = "?" + base + "format=live";
          root.dataset.figuresUrl = "?" + base + "format=figures";
          root.dataset.contourUrl = "?" + base + "format=contour";
          const form = document.getElementById("trial-filter");
          if (form) {
            form.querySelectorAll("input[name], select[name]").forEach(function (el) {
              if (el.type !== "hidden") el.value = params.get(el.name) || "";
            });
          }
          tick(true).then(refreshOthers);
          document.dispatchEvent(new CustomEvent("hpdash:brushed", { detail: query }));
        }, 350);
      });
    }
    div.addEventListener("hpdash:drawn", attach);
  }

  // The contour's two parameters are the user's pick (default: the two most important).
  let contourChosen = false;
  function contourPickers(root) {
    const xs = document.getElementById("contour-x");
    const ys = document.getElementById("contour-y");
    const div = document.getElementById("chart-contour");
    if (!xs || !ys || !div) return;
    div.addEventListener("hpdash:drawn", function () {
      const meta = (div.layout && div.layout.meta) || {};
      if (meta.x) xs.value = meta.x;
      if (meta.y) ys.value = meta.y;
    });
    async function pick() {
      contourChosen = true;
      const base = root.dataset.contourUrl || root.dataset.figuresUrl.replace("format=figures", "format=contour");
      const fig = await getJson(base + "&x=" + encodeURIComponent(xs.value) + "&y=" + encodeURIComponent(ys.value));
      if (fig) await drawAll(fig);
    }
    xs.addEventListener("change", pick);
    ys.addEventListener("change", pick);
  }

  // The trial page: the log grows by what the trainer wrote since the last answer (the page
  // keeps the tail in view while "follow the tail" is ticked); the summary shows the latest
  // metric; the chart is redrawn when measurements arrived.
  const LOG_KEEP_CHARS = 256 * 1024;
  function startTrialLive(root) {
    const log = document.getElementById("log-tail");
    const follow = document.getElementById("follow-log");
    const toBottom = function () { if (log && (!follow || follow.checked)) log.scrollTop = log.scrollHeight; };
    toBottom();
    if (root.dataset.live !== "1") return;
    const timer = setInterval(async function () {
      const url = "?format=live&offset=" + root.dataset.offset + "&measurements=" + root.dataset.measurements;
      const delta = await getJson(url);
      if (!delta) return;
      root.dataset.offset = delta.offset;
      root.dataset.measurements = delta.measurements;
      replaceWithHtml("trial-summary", delta.summary);
      if (log && delta.log) {
        log.textContent = (delta.log_cut ? "" : log.textContent) + delta.log;
        if (log.textContent.length > LOG_KEEP_CHARS) log.textContent = log.textContent.slice(-LOG_KEEP_CHARS);
        const none = document.getElementById("no-log");
        if (none) none.remove();
        toBottom();
      }
      if (delta.figure) drawAll({ measurements: delta.figure });
      if (!delta.live) { clearInterval(timer); root.dataset.live = "0"; }
    }, POLL_MS);
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

  window.hpdash = { drawAll: drawAll, latest: latest };

  document.addEventListener("DOMContentLoaded", function () {
    fillFilterForm();
    renderCharts();
    const jobLive = document.getElementById("job-live");
    const trialLive = document.getElementById("trial-live");
    if (jobLive) startJobLive(jobLive);
    else if (trialLive) startTrialLive(trialLive);
    else startFragmentLive();
  });
})();
