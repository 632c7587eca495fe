/**
 * The question browser's script, embedded in the page as text (plain ES2019, no library). It
 * unpacks the compact data (./browser.ts EncodedBrowser, gzip in base64: ./page.ts packData)
 * from `<script id="vl-data">` with the browser's DecompressionStream, draws one
 * filter per facet plus a search box, and renders only the current page of rows; a row's
 * details (prompt, repeats, verdict, side-by-side texts) are built when it is opened.
 */
export const BROWSER_SCRIPT = String.raw`
(function () {
  "use strict";
  var root = document.getElementById("vl-browser");
  var dataEl = document.getElementById("vl-data");
  if (!root || !dataEl) return;
  unpack(dataEl.textContent.trim()).then(start, function (err) {
    root.textContent = "The questions could not be unpacked in this browser (" + err + "); the tables and figures above hold the results.";
    document.documentElement.setAttribute("data-browser-ready", "error");
  });

  // gzip + base64 -> the data object, with the browser's DecompressionStream
  function unpack(b64) {
    if (typeof DecompressionStream === "undefined") return Promise.reject(new Error("no DecompressionStream"));
    var bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text().then(JSON.parse);
  }

  function start(D) {
  var S = D.s, PAGE = 50, JOIN = "\u001f", ROLES = ["system", "user", "assistant"];
  var sel = D.f.map(function () { return -1; });
  var query = "", page = 0, matches = [], open = {};

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (k === "text") e.textContent = attrs[k];
      else if (k === "cls") e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }
  function str(i) { return i >= 0 ? S[i] : ""; }
  function fmt(x, d) { return x === null || x === undefined ? "–" : Number(x).toFixed(d); }

  // Filters: one select per facet, values in first-appearance order with their counts.
  var controls = el("div", { cls: "controls" });
  D.f.forEach(function (f, k) {
    var col = D.c[k], counts = new Map();
    for (var i = 0; i < D.n; i++) counts.set(col[i], (counts.get(col[i]) || 0) + 1);
    if (counts.size < 2 && D.n > 0) return; // one value only: nothing to filter
    var s = el("select", { "data-facet": f[0], "aria-label": f[1] });
    s.appendChild(el("option", { value: "-1", text: "all (" + counts.size + ")" }));
    counts.forEach(function (n, v) { s.appendChild(el("option", { value: String(v), text: S[v] + " (" + n + ")" })); });
    s.addEventListener("change", function () { sel[k] = Number(s.value); page = 0; update(); });
    controls.appendChild(el("label", { cls: "facet" }, [el("span", { text: f[1] }), s]));
  });
  var search = el("input", { type: "search", placeholder: "id contains…", "aria-label": "search ids", "data-search": "" });
  search.addEventListener("input", function () { query = search.value.toLowerCase(); page = 0; update(); });
  controls.appendChild(el("label", { cls: "facet" }, [el("span", { text: "id" }), search]));
  var count = el("p", { id: "vl-count", cls: "count" });
  var list = el("table", { cls: "data browser" });
  var pager = el("div", { cls: "pager" });
  root.appendChild(controls);
  if (D.note >= 0) root.appendChild(el("p", { cls: "note", text: S[D.note] }));
  root.appendChild(count);
  root.appendChild(el("div", { cls: "scroll" }, [list]));
  root.appendChild(pager);

  var head = el("tr");
  D.f.forEach(function (f) { head.appendChild(el("th", { text: f[1] })); });
  var verdictFacet = D.f.findIndex(function (f) { return f[0] === "verdict"; });
  var extra = (verdictFacet >= 0 ? [] : ["verdict"]).concat(["repeats", "mean score"]);
  extra.forEach(function (h) { head.appendChild(el("th", { text: h })); });
  list.appendChild(el("thead", null, [head]));
  var body = el("tbody");
  list.appendChild(body);

  function filter() {
    var out = [], active = [];
    sel.forEach(function (v, k) { if (v >= 0) active.push(k); });
    for (var i = 0; i < D.n; i++) {
      var ok = true;
      for (var a = 0; a < active.length; a++) if (D.c[active[a]][i] !== sel[active[a]]) { ok = false; break; }
      if (ok && query && S[D.id[i]].toLowerCase().indexOf(query) < 0) ok = false;
      if (ok) out.push(i);
    }
    return out;
  }

  function meanScore(i) {
    var t = 0, n = 0;
    D.r[i].forEach(function (r) { if (r[4] !== null) { t += r[4]; n++; } });
    return n ? t / n : null;
  }

  function update() {
    matches = filter();
    var pages = Math.max(1, Math.ceil(matches.length / PAGE));
    if (page >= pages) page = pages - 1;
    count.textContent = matches.length + " of " + D.n + " questions";
    count.setAttribute("data-count", String(matches.length));
    render();
    pager.textContent = "";
    var prev = el("button", { type: "button", text: "‹ previous" }), next = el("button", { type: "button", text: "next ›" });
    prev.disabled = page === 0; next.disabled = page >= pages - 1;
    prev.addEventListener("click", function () { page--; update(); });
    next.addEventListener("click", function () { page++; update(); });
    pager.appendChild(prev);
    pager.appendChild(el("span", { text: " page " + (page + 1) + " of " + pages + " " }));
    pager.appendChild(next);
  }

  function render() {
    body.textContent = "";
    matches.slice(page * PAGE, page * PAGE + PAGE).forEach(function (i) {
      var tr = el("tr", { cls: "vl-row", "data-item": String(i), tabindex: "0" });
      var v = str(D.v[i]), vcls = "verdict " + v.replace(/[^a-z-]/gi, "");
      D.f.forEach(function (f, k) { tr.appendChild(el("td", { cls: k === verdictFacet ? vcls : "", text: S[D.c[k][i]] })); });
      if (verdictFacet < 0) tr.appendChild(el("td", { cls: vcls, text: v || "–" }));
      tr.appendChild(el("td", { cls: "num", text: String(D.r[i].length) }));
      tr.appendChild(el("td", { cls: "num", text: fmt(meanScore(i), 3) }));
      var toggle = function () { open[i] = !open[i]; render(); };
      tr.addEventListener("click", toggle);
      tr.addEventListener("keydown", function (e) { if (e.key === "Enter") toggle(); });
      body.appendChild(tr);
      if (open[i]) {
        var td = el("td", { colspan: String(D.f.length + extra.length) }, [details(i)]);
        body.appendChild(el("tr", { cls: "vl-details" }, [td]));
      }
    });
  }

  function details(i) {
    var box = el("div", { cls: "details", "data-item": String(i) });
    box.appendChild(el("p", { cls: "qid", text: S[D.id[i]] }));
    if (D.v[i] >= 0) {
      box.appendChild(el("p", { cls: "verdict-line" }, [el("b", { cls: "verdict " + S[D.v[i]], text: S[D.v[i]] }),
        el("span", { text: D.vn[i] >= 0 ? " — " + S[D.vn[i]] : "" })]));
    }
    var sd = D.sd[i];
    if (sd.length) {
      var grid = el("div", { cls: "side" });
      for (var k = 0; k < sd.length; k += 2) grid.appendChild(el("div", null, [el("h4", { text: S[sd[k]] }), el("p", { text: S[sd[k + 1]] })]));
      box.appendChild(grid);
    }
    var p = D.p[i];
    if (p.length) {
      var prompt = el("div", { cls: "prompt" });
      for (var j = 0; j < p.length; ) {
        var role = ROLES[p[j]], n = p[j + 1], text = "";
        for (var m = 0; m < n; m++) text += S[p[j + 2 + m]];
        j += 2 + n;
        prompt.appendChild(el("div", { cls: "turn " + role }, [el("span", { cls: "role", text: role }), el("pre", { text: text })]));
      }
      box.appendChild(el("h4", { text: "Prompt (first repeat; the chat template is applied by the model)" }));
      box.appendChild(prompt);
    }
    box.appendChild(el("h4", { text: "Repeats" }));
    var t = el("table", { cls: "data repeats" });
    t.appendChild(el("thead", null, [el("tr", null, ["repeat", "options in the order shown", "mass", "score", "answer"].map(function (h) { return el("th", { text: h }); }))]));
    var tb = el("tbody");
    D.r[i].forEach(function (r) {
      var order = r[1] >= 0 && S[r[1]] !== "" ? S[r[1]].split(JOIN) : [];
      var letters = r[2] >= 0 ? S[r[2]].split(JOIN) : null;
      var opts = el("ol", { cls: "options" });
      order.forEach(function (o, k) {
        var pr = r.length > 8 ? r[8 + k] : null;
        var li = el("li", null, [el("b", { text: letters ? letters[k] + ". " : "" }), el("span", { text: o })]);
        if (pr !== null && pr !== undefined) {
          li.appendChild(el("span", { cls: "prob", text: " " + fmt(pr, 3) }));
          li.appendChild(el("span", { cls: "bar", style: "width:" + Math.round(pr * 80) + "px" }));
        }
        opts.appendChild(li);
      });
      var answer = el("div");
      if (r[7] >= 0) answer.appendChild(el("p", { cls: "error", text: "failed: " + S[r[7]] }));
      if (r[5] >= 0) answer.appendChild(el("pre", { cls: "raw", text: S[r[5]] }));
      if (r[6] >= 0) answer.appendChild(el("p", { cls: "parse", text: "parse: " + S[r[6]] }));
      tb.appendChild(el("tr", null, [el("td", { cls: "num", text: String(r[0]) }), el("td", null, [opts]),
        el("td", { cls: "num", text: r[3] === null ? "–" : Number(r[3]).toPrecision(3) }),
        el("td", { cls: "num", text: fmt(r[4], 3) }), el("td", null, [answer])]));
    });
    t.appendChild(tb);
    box.appendChild(t);
    return box;
  }

  update();
  document.documentElement.setAttribute("data-browser-ready", "1");
  }
})();
`;
