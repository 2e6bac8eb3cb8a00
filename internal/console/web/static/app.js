// Sluice console: live updates over server-sent events, charts, the connection check and the playground.
// Everything the server sends is written with textContent, never as HTML.
"use strict";
(function () {
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const $ = (s, el) => (el || document).querySelector(s);
  const fmt = (n, d) => (typeof n === "number" ? n.toFixed(d || 0) : "");

  function post(url, body) {
    return fetch(url, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf}, body: JSON.stringify(body)})
      .then(r => r.json().then(j => ({ok: r.ok, body: j})));
  }

  // line draws xs into an <svg> as a polyline scaled to its viewBox.
  function line(svg, xs) {
    if (!svg) return;
    const vb = svg.viewBox.baseVal, w = vb.width, h = vb.height;
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    if (!xs || xs.length === 0) return;
    if (xs.length === 1) xs = [xs[0], xs[0]];
    const max = Math.max(1e-9, ...xs);
    const pts = xs.map((v, i) => (i * w / (xs.length - 1)).toFixed(1) + "," + (h - 2 - v / max * (h - 4)).toFixed(1));
    const pl = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
    pl.setAttribute("points", pts.join(" "));
    svg.appendChild(pl);
  }

  function stateSpan(state) {
    const s = document.createElement("span");
    s.className = "state state-" + state;
    s.textContent = state;
    return s;
  }

  function cell(tr, k, text) {
    const td = tr.querySelector('[data-k="' + k + '"]');
    if (td) td.textContent = text;
  }

  // The pipes list: rebuild the rows from each update (the filter of the page applies).
  function updateList(pipes) {
    const table = $("#pipes");
    if (!table) return;
    const fn = table.dataset.filterName || "", fs = table.dataset.filterState || "";
    const tbody = table.tBodies[0];
    const shown = pipes.filter(p => p.name.includes(fn) && (!fs || p.state === fs));
    const rows = [];
    for (const p of shown) {
      let tr = tbody.querySelector('tr[data-pipe="' + CSS.escape(p.name) + '"]');
      if (!tr) {
        tr = document.createElement("tr");
        tr.dataset.pipe = p.name;
        const th = document.createElement("th");
        th.scope = "row";
        const a = document.createElement("a");
        a.href = "/console/pipes/" + encodeURIComponent(p.name);
        a.textContent = p.name;
        th.appendChild(a);
        tr.appendChild(th);
        for (const k of ["state", "topic", "target", "rate", "spark", "lag", "failed", "dead"]) {
          const td = document.createElement("td");
          td.dataset.k = k;
          if (["rate", "lag", "failed", "dead"].includes(k)) td.className = "num";
          if (k === "spark") {
            const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
            svg.setAttribute("class", "spark");
            svg.setAttribute("viewBox", "0 0 120 24");
            svg.setAttribute("role", "img");
            svg.setAttribute("aria-label", "records per second, last minute");
            td.appendChild(svg);
          }
          tr.appendChild(td);
        }
        tr.children[1].dataset.k = "state";
        tr.children[1].className = "";
      }
      const st = tr.children[1];
      while (st.firstChild) st.removeChild(st.firstChild);
      st.appendChild(stateSpan(p.state));
      if (p.reason) { const d = document.createElement("div"); d.className = "reason"; d.textContent = p.reason; st.appendChild(d); }
      for (const [i, v] of [[2, p.topic], [3, p.target]]) {
        const td = tr.children[i];
        while (td.firstChild) td.removeChild(td.firstChild);
        const code = document.createElement("code");
        code.textContent = v;
        td.appendChild(code);
      }
      cell(tr, "rate", fmt(p.rate, 1));
      cell(tr, "lag", String(p.lag));
      cell(tr, "failed", fmt(p.failed));
      cell(tr, "dead", fmt(p.dead));
      line(tr.querySelector("svg.spark"), p.spark);
      rows.push(tr);
    }
    while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
    if (rows.length === 0) {
      const tr = document.createElement("tr"), td = document.createElement("td");
      tr.className = "empty"; td.colSpan = 9; td.textContent = "No pipes.";
      tr.appendChild(td); rows.push(tr);
    }
    rows.forEach(r => tbody.appendChild(r));
    const cap = table.caption;
    if (cap) cap.textContent = shown.length + " of " + pipes.length + " pipes";
  }

  function drawCharts(series) {
    if (!series) return;
    document.querySelectorAll("svg.chart").forEach(svg => {
      const xs = series[svg.dataset.s] || [];
      line(svg, xs);
      const last = document.querySelector('[data-last="' + svg.dataset.s + '"]');
      if (last) last.textContent = xs.length ? "now: " + fmt(xs[xs.length - 1], 2) + ", max: " + fmt(Math.max(...xs), 2) : "no samples yet";
    });
  }

  function updatePipe(msg) {
    const name = document.body.dataset.pipe;
    const p = (msg.pipes || []).find(x => x.name === name);
    if (p) {
      const st = $("#state");
      st.textContent = p.state;
      st.className = "state state-" + p.state;
      $("#desired").textContent = p.desired;
      $("#reason").textContent = p.reason || "";
    }
    const d = msg.pipe;
    if (!d) return;
    const m = d.metrics || {};
    const set = (id, v) => { const el = document.getElementById(id); if (el) el.textContent = fmt(v || 0); };
    set("m-read", m.RecordsRead); set("m-filtered", m.RecordsFiltered); set("m-events", m.Events);
    set("m-failed", m.Failed); set("m-dead", m.DeadLettered);
    drawCharts(d.series);
    const lb = $("#log");
    if (lb && d.log && d.log.length) {
      while (lb.firstChild) lb.removeChild(lb.firstChild);
      for (const l of d.log) {
        const tr = document.createElement("tr");
        for (const v of [l.timestamp, l.messageType, l.executionId, l.error || ""]) {
          const td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
        }
        lb.appendChild(tr);
      }
    }
    updateMembers(d.members);
    const oe = $("#offsets-error");
    if (oe) { oe.textContent = d.offsetsError || ""; oe.hidden = !d.offsetsError; }
    const tb = $("#lag");
    while (tb.firstChild) tb.removeChild(tb.firstChild);
    const row = vals => {
      const tr = document.createElement("tr");
      vals.forEach((v, i) => { const td = document.createElement("td"); td.textContent = v; if (i) td.className = "num"; tr.appendChild(td); });
      tb.appendChild(tr);
    };
    const offs = d.offsets || [];
    for (const o of offs) {
      const c = o.committed >= 0;
      row([o.partition, c ? o.committed : "none yet", o.end, c ? o.lag : "unknown"]);
    }
    if (!offs.length) for (const l of d.lag || []) row([l.partition, "unknown", "unknown", l.lag]);
    if (!offs.length && !(d.lag || []).length) {
      const tr = document.createElement("tr"), td = document.createElement("td");
      td.colSpan = 4; td.textContent = "No partitions known yet.";
      tr.appendChild(td); tb.appendChild(tr);
    }
  }

  // The cluster's "Members by node" table (present only in cluster mode), redrawn from the event.
  function updateMembers(ms) {
    const mb = $("#members");
    if (!mb || !ms) return;
    while (mb.firstChild) mb.removeChild(mb.firstChild);
    for (const m of ms) {
      const tr = document.createElement("tr"), code = document.createElement("code");
      const parts = m.partitions && m.partitions.length ? m.partitions.join(", ") : "none yet";
      code.textContent = m.memberId;
      [m.node, code, parts].forEach(v => {
        const td = document.createElement("td");
        if (typeof v === "string") td.textContent = v; else td.appendChild(v);
        tr.appendChild(td);
      });
      mb.appendChild(tr);
    }
    if (!ms.length) {
      const tr = document.createElement("tr"), td = document.createElement("td");
      td.colSpan = 3; td.textContent = "No member runs the pipe now.";
      tr.appendChild(td); mb.appendChild(tr);
    }
  }

  function stream(query) {
    const status = $("#live-status");
    const es = new EventSource("/console/events" + query);
    es.onopen = () => { if (status) status.textContent = "Live updates: on"; };
    es.onerror = () => { if (status) status.textContent = "Live updates: reconnecting…"; };
    es.addEventListener("update", ev => {
      const msg = JSON.parse(ev.data);
      if (status) status.textContent = "Live updates: on, " + new Date().toLocaleTimeString();
      updateList(msg.pipes || []);
      if (document.body.dataset.page === "pipe") updatePipe(msg);
    });
  }

  // The create form's connection check: a peek of no records through the form's source.
  function setupCheck() {
    const btn = $("#check");
    if (!btn) return;
    btn.addEventListener("click", () => {
      const f = new FormData($("#create")), form = {};
      for (const [k, v] of f.entries()) form[k] = v;
      const out = $("#check-result");
      out.textContent = "Checking…";
      post("/console/api/peek", {form: {Source: form.source, Topic: form.topic, Auth: form.auth, AuthRef: form.auth_ref,
        Position: form.position, Target: form.target || "file:///dev/null", Name: form.name}, count: 0})
        .then(r => {
          out.textContent = r.ok ? "Connected: topic " + r.body.topic + " has " + r.body.partitions + " partitions and " + r.body.records + " records."
                                 : "Not connected: " + r.body.error;
        }).catch(e => { out.textContent = "Not connected: " + e; });
    });
  }

  // The playground: fetch samples, then match and render on every change (debounced).
  function setupPlayground() {
    const pg = $("#pg");
    if (!pg) return;
    pg.addEventListener("submit", e => { e.preventDefault(); fetchSamples(); });
    let samples = [], timer = 0, seq = 0;
    const status = $("#pg-status");
    const patterns = () => {
      const t = $("#pg-patterns").value.trim();
      if (!t) return [];
      try { JSON.parse(t); return [t]; } catch (e) { /* one per line */ }
      return t.split("\n").map(s => s.trim()).filter(Boolean);
    };
    function fetchSamples() {
      const pipe = $("#pg-pipe").value, source = $("#pg-source").value.trim();
      const count = parseInt($("#pg-count").value, 10) || 10;
      let req;
      if (pipe) req = {pipe: pipe, count: count};
      else if (source) req = {form: {Source: source, Topic: $("#pg-topic").value.trim(), Auth: $("#pg-auth").value,
        AuthRef: $("#pg-auth-ref").value.trim(), Name: "playground", Target: "file:///dev/null"}, count: count};
      else { status.textContent = "Choose a pipe, or give a source and a topic."; return; }
      status.textContent = "Reading the topic…";
      post("/console/api/peek", req).then(r => {
        if (!r.ok) { status.textContent = "Peek failed: " + r.body.error; return; }
        samples = r.body.samples;
        status.textContent = samples.length + " samples from topic " + r.body.topic + " (" + r.body.partitions + " partitions).";
        run();
      }).catch(e => { status.textContent = "Peek failed: " + e; });
    }
    function run() {
      const my = ++seq;
      post("/console/api/try", {patterns: patterns(), template: $("#pg-template").value, events: samples.map(s => s.event),
        pipe: $("#pg-pipe").value}).then(r => {
        if (my !== seq) return; // a newer keystroke's answer is coming
        const pe = $("#pg-patterns-error"), te = $("#pg-template-error");
        pe.textContent = ""; te.textContent = "";
        if (!r.ok) { pe.textContent = r.body.error; return; }
        (r.body.patternErrors || []).forEach(e => { const p = document.createElement("p"); p.textContent = "Error: " + e.name + ": " + e.message; pe.appendChild(p); });
        if (r.body.templateError) te.textContent = "Error: " + r.body.templateError;
        show(r.body.results || []);
      });
    }
    function show(results) {
      const ol = $("#pg-samples");
      while (ol.firstChild) ol.removeChild(ol.firstChild);
      let kept = 0;
      samples.forEach((s, i) => {
        const res = results[i] || {};
        if (res.kept) kept++;
        const li = document.createElement("li");
        li.className = res.kept ? "kept" : "dropped";
        li.dataset.offset = s.partition + "/" + s.offset;
        const v = document.createElement("p");
        v.className = "verdict";
        v.textContent = res.kept ? "KEPT by the filter" : "DROPPED by the filter";
        const meta = document.createElement("p");
        meta.className = "meta";
        meta.textContent = "partition " + s.partition + ", offset " + s.offset + (s.key ? ", key " + s.key : "") + (s.binary ? " (binary, base64)" : "");
        const val = document.createElement("pre");
        val.className = "value";
        val.textContent = s.value;
        li.append(v, meta, val);
        if (res.output !== undefined && res.output !== "") {
          const h = document.createElement("p"); h.textContent = "Template output:";
          const o = document.createElement("pre"); o.className = "output"; o.textContent = res.output;
          li.append(h, o);
        }
        if (res.error) { const e = document.createElement("p"); e.className = "error"; e.textContent = "Error: " + res.error; li.append(e); }
        const det = document.createElement("details"), sum = document.createElement("summary"), ev = document.createElement("pre");
        sum.textContent = "The event as the pipe sees it"; ev.textContent = JSON.stringify(s.event, null, 2);
        det.append(sum, ev); li.append(det);
        ol.appendChild(li);
      });
      $("#pg-summary").textContent = samples.length ? kept + " of " + samples.length + " samples kept by the filter." : "";
    }
    const later = () => { clearTimeout(timer); timer = setTimeout(run, 200); };
    $("#pg-fetch").addEventListener("click", fetchSamples);
    $("#pg-patterns").addEventListener("input", later);
    $("#pg-template").addEventListener("input", later);
    if ($("#pg-pipe").value) fetchSamples();
  }

  document.addEventListener("DOMContentLoaded", () => {
    const page = document.body.dataset.page;
    document.querySelectorAll("svg[data-spark]").forEach(svg => line(svg, JSON.parse(svg.dataset.spark || "[]")));
    if (page === "list") stream("");
    if (page === "pipe") {
      const sec = $("#pipe-state");
      document.body.dataset.pipe = sec.dataset.pipe;
      drawCharts(JSON.parse($("#charts").dataset.series || "null"));
      stream("?pipe=" + encodeURIComponent(sec.dataset.pipe));
    }
    setupCheck();
    setupPlayground();
    // After a refused form, keyboard and screen-reader users land on the first field in error (its
    // message is linked by aria-describedby), or on the page's error.
    const bad = $('[aria-invalid="true"]') || $("#general-error, #action-error");
    if (bad) { if (!bad.matches("input, select, textarea, button")) bad.tabIndex = -1; bad.focus(); }
  });
})();
