// The ordersync merchant console. Vanilla JavaScript, no dependency.
// Every value from the API is written with textContent (never as HTML:
// the page's Content-Security-Policy requires Trusted Types, so the browser
// refuses any HTML written from a string). The connection id and API key
// live in sessionStorage only: never in a URL, never logged.
"use strict";
(function () {
  const SESSION = "ordersync.console";
  let session = null; // {conn, key}
  let words = {states: {}, actions: {}, health: {}};
  const $ = (id) => document.getElementById(id);

  // el builds an element with text children (strings become text nodes).
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else if (k === "onclick") e.addEventListener("click", v);
      else e.setAttribute(k, v);
    }
    for (const c of children) {
      if (c === null || c === undefined || c === "") continue;
      e.append(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
    }
    return e;
  }
  function say(id, text, kind) {
    const m = $(id);
    m.textContent = text || "";
    m.className = "msg" + (kind ? " " + kind : "");
  }
  function when(t) {
    if (!t) return "";
    const d = new Date(t);
    return isNaN(d) ? String(t) : d.toLocaleString();
  }
  function fill(s, vars) {
    return String(s || "").replace(/\{(\w+)\}/g, (_, k) => (k in vars ? vars[k] : ""));
  }
  const seg = encodeURIComponent;
  const base = () => "/connections/" + seg(session.conn);

  // api calls the merchant API with the session's key. It resolves to
  // {status, body}; a refusal's body is the API's {"error": {...}}.
  async function api(method, path, body) {
    const opts = {method, headers: {Authorization: "Bearer " + session.key}, cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer"};
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(path, opts);
    } catch (e) {
      return {status: 0, body: {error: {message: "The API did not answer. Check your connection and try again."}}};
    }
    let data = {};
    try { data = await resp.json(); } catch (e) { data = {}; }
    return {status: resp.status, body: data};
  }
  const problem = (r) => (r.body && r.body.error && r.body.error.message) || ("HTTP " + r.status);
  const ok = (r) => r.status >= 200 && r.status < 300;

  // Sign in and out.
  async function signIn(conn, key) {
    session = {conn, key};
    const r = await api("GET", base());
    if (!ok(r)) {
      session = null;
      return problem(r);
    }
    sessionStorage.setItem(SESSION, JSON.stringify({conn, key}));
    $("signin").hidden = true;
    $("app").hidden = false;
    $("who").hidden = false;
    $("who-conn").textContent = "Connection " + conn;
    showHealth(r.body.connection);
    showTab("errors");
    return "";
  }
  function signOut() {
    sessionStorage.removeItem(SESSION);
    session = null;
    stopPolling();
    $("app").hidden = true;
    $("who").hidden = true;
    $("signin").hidden = false;
    $("key").value = "";
    say("signin-msg", "Signed out.");
  }

  // The health banner. A failing connection's reason is an error code:
  // shown by its catalogue title once the errors list has given it.
  let lastHealth = null;
  const titles = {};
  function showHealth(view) {
    lastHealth = view;
    const h = (view && view.health) || {};
    const b = $("health");
    const hw = words.health || {};
    $("health-resume").hidden = true;
    if (h.status === "paused") {
      const p = hw.paused || {};
      const r = (p.reasons || {})[h.reason || ""] || (p.reasons || {})[""] || {};
      b.className = "banner paused";
      $("health-title").textContent = p.title || "Paused";
      $("health-why").textContent = r.why || "";
      $("health-since").textContent = h.since ? fill(p.since, {since: when(h.since)}) : "";
      $("health-do").textContent = r.do || "";
      $("health-resume").hidden = h.reason !== "merchant" && !!h.reason;
      b.hidden = false;
    } else if (h.status === "failing") {
      const f = hw.failing || {};
      b.className = "banner failing";
      $("health-title").textContent = f.title || "Failing";
      $("health-why").textContent = fill(f.why, {reason: titles[h.reason] || h.reason || ""});
      $("health-since").textContent = h.since ? fill(f.since, {since: when(h.since)}) : "";
      $("health-do").textContent = f.do || "";
      b.hidden = false;
    } else {
      b.hidden = true;
    }
  }
  async function refreshHealth() {
    const r = await api("GET", base());
    if (ok(r)) showHealth(r.body.connection);
  }

  // Tabs.
  const panels = ["errors", "orders", "jobs"];
  function showTab(name) {
    for (const p of panels) {
      $("tab-" + p).setAttribute("aria-selected", String(p === name));
      $("panel-" + p).hidden = p !== name;
    }
    $("panel-order").hidden = true;
    $("panel-credentials").hidden = true;
    if (name !== "jobs") stopPolling();
    if (name === "errors") loadErrors();
    if (name === "orders") loadOrders(true);
    if (name === "jobs") loadJobs();
  }
  let returnTo = "errors";
  function openPanel(id) {
    for (const p of panels) $("panel-" + p).hidden = true;
    $("panel-order").hidden = id !== "order";
    $("panel-credentials").hidden = id !== "credentials";
  }

  // Errors.
  function actionOf(e) {
    const a = e.action;
    if (!a || !a.path) return null;
    let m;
    if (/\/resync$/.test(a.path)) return {kind: "resync"};
    if (/\/fix$/.test(a.path)) return {kind: "fix"};
    if (/\/link$/.test(a.path)) return {kind: "link"};
    if (/\/resume$/.test(a.path)) return {kind: "resume"};
    if ((m = /\/credentials\/(store|marketplace)$/.exec(a.path))) return {kind: "credentials", side: m[1]};
    if ((m = /\/aliases\/([^/]*)$/.exec(a.path))) {
      let sku = "";
      try { sku = decodeURIComponent(m[1]); } catch (x) { sku = ""; }
      return {kind: "alias", sku: sku === "{sku}" ? "" : sku};
    }
    return null;
  }
  async function loadErrors() {
    say("errors-msg", "Loading…");
    const r = await api("GET", base() + "/errors?limit=20&days=7");
    const list = $("errors-list");
    list.replaceChildren();
    if (!ok(r)) return say("errors-msg", problem(r), "bad");
    const errs = r.body.errors || [];
    for (const e of errs) if (e.code && e.title) titles[e.code] = e.title;
    if (lastHealth) showHealth(lastHealth);
    say("errors-msg", errs.length ? errs.length + " error(s)." : "No errors in the past 7 days.");
    for (const e of errs) {
      const o = e.order || {};
      const name = o.store_order_name || o.store_order_id || o.marketplace_order_id || "";
      const li = el("li", {class: e.resolved ? "resolved" : "", "data-order": o.marketplace_order_id || "", "data-code": e.code || ""});
      const head = el("h3", {}, e.title || e.code || "");
      if (e.resolved) head.append(" ", el("span", {class: "tag resolved"}, "Resolved " + when(e.resolved.at) + (e.resolved.how ? " (" + e.resolved.how + ")" : "")));
      li.append(head);
      const ob = el("button", {type: "button", class: "linkish order-link"}, "Order " + name);
      ob.addEventListener("click", () => openOrder(o.marketplace_order_id, "errors"));
      li.append(el("p", {}, ob, " · marketplace order " + (o.marketplace_order_id || "?") + " · " + when(e.at) + (e.attempts ? " · " + e.attempts + " attempt(s)" : "") + " · ", el("code", {}, e.code || "")));
      li.append(el("p", {class: "cause"}, el("strong", {}, "Cause: "), e.cause || ""));
      li.append(el("p", {class: "remedy"}, el("strong", {}, "What to do: "), e.remedy || ""));
      const act = actionOf(e);
      if (act && !e.resolved) {
        const msg = el("span", {class: "msg", "aria-live": "polite"});
        const btn = el("button", {type: "button", class: "primary action", "data-action": act.kind}, (words.actions || {})[act.kind] || act.kind);
        btn.addEventListener("click", () => runAction(act, e, msg));
        li.append(el("p", {}, btn, " ", msg));
      }
      list.append(li);
    }
  }
  async function runAction(act, e, msg) {
    const o = e.order || {};
    switch (act.kind) {
      case "resync": {
        msg.textContent = "Re-syncing…";
        const r = await api("POST", base() + "/orders/" + seg(o.marketplace_order_id) + "/resync");
        msg.textContent = ok(r) ? "Queued: the order syncs in a moment." : problem(r);
        return;
      }
      case "resume": {
        msg.textContent = "Resuming…";
        const r = await api("POST", base() + "/resume");
        msg.textContent = ok(r) ? "Resumed: waiting orders sync again shortly." : problem(r);
        refreshHealth();
        return;
      }
      case "credentials":
        return openCredentials(act.side, "errors");
      case "fix":
        return openOrder(o.marketplace_order_id, "errors", "fix-number");
      case "link":
        await openOrder(o.marketplace_order_id, "errors", "link-store");
        $("link-store").value = o.store_order_id || "";
        return;
      case "alias":
        await openOrder(o.marketplace_order_id, "errors", "alias-market");
        $("alias-store").value = act.sku || "";
        return;
    }
  }

  // Orders by sync state. "Fulfillment pending" is pending and retrying:
  // a page holds a page of each, and each keeps its own cursor.
  let ordersPage = null; // {choice, limit, page, cursors: {state: cursor, or null once done}}
  function statesOf(choice) { return choice === "pending" ? ["pending", "retrying"] : [choice]; }
  async function loadOrders(first) {
    const choice = $("orders-state").value;
    let limit = parseInt($("orders-limit").value, 10);
    if (!(limit >= 1 && limit <= 100)) limit = 20;
    if (first || !ordersPage || ordersPage.choice !== choice || ordersPage.limit !== limit) {
      ordersPage = {choice, limit, cursors: {}, page: 1};
      for (const s of statesOf(choice)) ordersPage.cursors[s] = "";
    } else {
      ordersPage.page++;
    }
    say("orders-msg", "Loading…");
    const body = $("orders-body");
    body.replaceChildren();
    let rows = [];
    const next = {};
    for (const [s, cur] of Object.entries(ordersPage.cursors)) {
      if (cur === null) continue;
      const r = await api("GET", base() + "/orders?state=" + seg(s) + "&limit=" + ordersPage.limit + (cur ? "&cursor=" + seg(cur) : ""));
      if (!ok(r)) return say("orders-msg", problem(r), "bad");
      rows = rows.concat(r.body.orders || []);
      next[s] = r.body.next_cursor || null;
    }
    ordersPage.cursors = next;
    rows.sort((a, b) => String((b.sync || {}).at || "").localeCompare(String((a.sync || {}).at || "")));
    for (const o of rows) {
      const ref = o.order || {};
      const b = el("button", {type: "button", class: "linkish order-link"}, ref.store_order_name || ref.store_order_id || ref.marketplace_order_id || "");
      b.addEventListener("click", () => openOrder(ref.marketplace_order_id, "orders"));
      const sync = o.sync || {};
      body.append(el("tr", {"data-order": ref.marketplace_order_id || ""},
        el("td", {}, b), el("td", {}, ref.marketplace_order_id || ""),
        el("td", {}, el("span", {class: "tag " + (o.state || "")}, (words.states || {})[o.state] || o.state || "")),
        el("td", {}, o.store_status || ""), el("td", {}, o.marketplace_status || ""),
        el("td", {}, when(sync.at)), el("td", {}, sync.error_code ? sync.error_code + (sync.message ? ": " + sync.message : "") : "")));
    }
    $("orders-caption").textContent = ((words.states || {})[choice === "pending" ? "pending" : choice] || choice) + ", page " + ordersPage.page;
    say("orders-msg", rows.length ? rows.length + " order(s) on this page." : "No orders on this page.");
    $("orders-next").hidden = !Object.values(next).some((c) => c);
    $("orders-first").hidden = ordersPage.page === 1;
  }

  // The order pane.
  let current = null; // the order view shown
  async function openOrder(id, from, focus) {
    if (!id) return;
    returnTo = from || "errors";
    openPanel("order");
    say("order-msg", "Loading…");
    $("order-facts").replaceChildren();
    $("order-timeline").replaceChildren();
    $("alias-body").replaceChildren();
    const [r, tl, al] = await Promise.all([
      api("GET", base() + "/orders/" + seg(id)),
      api("GET", base() + "/orders/" + seg(id) + "/timeline"),
      api("GET", base() + "/aliases?limit=1000"),
    ]);
    if (!ok(r)) return say("order-msg", problem(r), "bad");
    current = r.body;
    const ref = current.order || {};
    $("order-h").textContent = "Order " + (ref.store_order_name || ref.store_order_id || id);
    const sync = current.sync || {};
    const facts = [
      ["Marketplace order", ref.marketplace_order_id], ["Store order id", ref.store_order_id],
      ["Store status", current.store_status + (current.store_updated_at ? " (" + when(current.store_updated_at) + ")" : "")],
      ["Marketplace status", (current.marketplace_status || "") + (current.marketplace_state !== undefined ? " (state " + current.marketplace_state + ")" : "")],
      ["Last sync", [sync.result, sync.error_code, when(sync.at)].filter(Boolean).join(" · ")],
      ["Message", sync.message],
      ["Attempts", sync.attempts],
      ["Lines", (current.lines || []).map((l) => l.quantity + " × " + l.sku).join(", ")],
      ["Parcels", (current.parcels || []).map((p) => (p.id || "parcel") + ": " + [p.tracking.number, p.tracking.carrier].filter(Boolean).join(" ") || "no tracking").join("; ")],
      ["Your fix", current.override && current.override.tracking ? "tracking " + current.override.tracking.number + " (" + current.override.tracking.carrier + ")" : ""],
    ];
    for (const [k, v] of facts) {
      if (v === undefined || v === null || v === "") continue;
      $("order-facts").append(el("dt", {}, k), el("dd", {}, String(v)));
    }
    const parcels = current.parcels || [];
    const sel = $("fix-parcel");
    sel.replaceChildren(...parcels.map((p) => el("option", {value: p.id || ""}, (p.id || "parcel") + " — " + (p.lines || []).map((l) => l.sku).join(", "))));
    $("fix-parcel-row").hidden = parcels.length < 2;
    $("link-form").hidden = sync.error_code !== "order_link_unverified";
    say("order-msg", "");
    // Timeline, oldest first.
    if (ok(tl)) {
      for (const t of tl.body.entries || []) {
        const bits = [t.source, t.topic, t.step, t.code, t.detail].filter(Boolean).join(" · ");
        const li = el("li", {class: t.kind || ""}, el("strong", {}, t.kind || ""), " " + when(t.at) + (bits ? " — " + bits : ""));
        if (t.cause) li.append(el("br"), t.cause);
        if (t.remedy) li.append(el("br"), el("em", {}, t.remedy));
        $("order-timeline").append(li);
      }
    }
    // The aliases of the SKUs this order names.
    const skus = new Set([...(current.lines || []), ...parcels.flatMap((p) => p.lines || [])].map((l) => l.sku).filter(Boolean));
    if (ok(al)) {
      for (const a of al.body.aliases || []) {
        if (!skus.has(a.store_sku) && !skus.has(a.marketplace_sku)) continue;
        const del = el("button", {type: "button"}, "Delete");
        del.addEventListener("click", async () => {
          const d = await api("DELETE", base() + "/aliases/" + seg(a.store_sku));
          say("order-msg", ok(d) ? "Alias deleted." : problem(d), ok(d) ? "ok" : "bad");
          if (ok(d)) openOrder(id, returnTo);
        });
        $("alias-body").append(el("tr", {}, el("td", {}, a.store_sku), el("td", {}, a.marketplace_sku), el("td", {}, del)));
      }
    }
    if (!$("alias-body").children.length) {
      $("alias-body").append(el("tr", {}, el("td", {colspan: "3"}, skus.size ? "No alias for " + [...skus].join(", ") + "." : "This order names no SKU.")));
    }
    (focus ? $(focus) : $("order-h")).focus();
  }
  function currentID() { return ((current || {}).order || {}).marketplace_order_id; }
  async function sendFix(body) {
    say("order-msg", "Sending…");
    const r = await api("POST", base() + "/orders/" + seg(currentID()) + "/fix", body);
    if (!ok(r)) return say("order-msg", problem(r), "bad");
    say("order-msg", "Saved. The order is re-sent now.", "ok");
    setTimeout(() => { if (!$("panel-order").hidden) openOrderKeepMsg(); }, 1500);
  }
  async function openOrderKeepMsg() {
    const m = $("order-msg").textContent;
    await openOrder(currentID(), returnTo);
    const s = current.sync || {};
    say("order-msg", m + " Last sync: " + (s.result || "not yet") + (s.error_code ? " (" + s.error_code + ")" : "") + ".", s.result === "synced" ? "ok" : "");
  }

  // Credentials.
  function openCredentials(side, from) {
    returnTo = from || "errors";
    openPanel("credentials");
    $("cred-side").value = side || "marketplace";
    say("cred-msg", "");
    $("cred-value").focus();
  }

  // The task centre.
  let pollTimer = null;
  function stopPolling() { if (pollTimer) { clearTimeout(pollTimer); pollTimer = null; } }
  async function loadJobs() {
    stopPolling();
    const r = await api("GET", base() + "/jobs?limit=10");
    if (!ok(r)) return say("jobs-msg", problem(r), "bad");
    const jobs = r.body.jobs || [];
    const details = await Promise.all(jobs.map((j) => api("GET", base() + "/jobs/" + seg(j.id) + "?limit=100")));
    const list = $("jobs-list");
    list.replaceChildren();
    let running = false;
    details.forEach((d, i) => {
      const j = ok(d) ? d.body.job : jobs[i];
      const results = j.results || [];
      const done = results.filter((x) => x.result !== "queued").length;
      const total = j.orders || results.length;
      // The job's status says whether it runs (the API finds it done once
      // every order of it settled, beyond this page too).
      const busy = j.status === "accepted" || j.status === "queued";
      running = running || busy;
      const f = j.filter || {};
      const what = j.by_ids ? "Named orders" : ["state " + (f.state || ""), f.code, f.since ? "since " + f.since : "", f.until ? "until " + f.until : ""].filter(Boolean).join(", ");
      const li = el("li", {"data-job": j.id, "data-status": j.status || ""},
        el("h3", {}, "Re-sync: " + what),
        el("p", {}, "Started " + when(j.created_at) + " · " + (j.status || "").replace(/_/g, " ") + " · " + total + " order(s)" + (j.not_found ? " · " + j.not_found + " not found" : "") + (j.truncated ? " · more than 10,000 matched: the first 10,000 were taken" : "")));
      const label = "job-progress-" + i;
      li.append(el("p", {}, el("label", {for: label}, busy ? "Progress" : "Done"), " ",
        el("progress", {id: label, max: String(Math.max(total, 1)), value: String(busy ? done : Math.max(total, 1))}, done + " of " + total), " " + done + " of " + total + " settled"));
      if (results.length) {
        const tb = el("tbody");
        for (const x of results) tb.append(el("tr", {}, el("td", {}, x.marketplace_order_id), el("td", {}, el("span", {class: "tag " + x.result}, x.result)), el("td", {}, x.code || ""), el("td", {}, when(x.at))));
        li.append(el("table", {}, el("thead", {}, el("tr", {}, el("th", {scope: "col"}, "Marketplace order"), el("th", {scope: "col"}, "Result"), el("th", {scope: "col"}, "Code"), el("th", {scope: "col"}, "At"))), tb));
      }
      list.append(li);
    });
    say("jobs-msg", jobs.length ? (running ? "A job is running; this list updates by itself." : jobs.length + " job(s) this week.") : "No job this week.");
    if (running && !$("panel-jobs").hidden) pollTimer = setTimeout(loadJobs, 1500);
  }

  // Wiring.
  document.addEventListener("DOMContentLoaded", async () => {
    try {
      const r = await fetch("words.json", {cache: "no-cache"});
      words = await r.json();
    } catch (e) { /* the labels fall back to codes */ }
    $("signin-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      say("signin-msg", "Signing in…");
      const m = await signIn($("conn").value.trim(), $("key").value);
      say("signin-msg", m, m ? "bad" : "");
    });
    $("signout").addEventListener("click", signOut);
    for (const p of panels) $("tab-" + p).addEventListener("click", () => showTab(p));
    $("errors-reload").addEventListener("click", () => { refreshHealth(); loadErrors(); });
    $("orders-form").addEventListener("submit", (ev) => { ev.preventDefault(); loadOrders(true); });
    $("orders-next").addEventListener("click", () => loadOrders(false));
    $("orders-first").addEventListener("click", () => loadOrders(true));
    $("order-back").addEventListener("click", () => showTab(returnTo));
    $("cred-back").addEventListener("click", () => showTab(returnTo));
    $("health-resume").addEventListener("click", async () => {
      const r = await api("POST", base() + "/resume");
      $("health-do").textContent = ok(r) ? "Resumed: waiting orders sync again shortly." : problem(r);
      if (ok(r)) setTimeout(refreshHealth, 1000);
    });
    $("order-resync").addEventListener("click", async () => {
      const r = await api("POST", base() + "/orders/" + seg(currentID()) + "/resync");
      say("order-msg", ok(r) ? "Queued: the order syncs in a moment." : problem(r), ok(r) ? "ok" : "bad");
    });
    $("fix-tracking").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const t = {number: $("fix-number").value.trim(), carrier: $("fix-carrier").value.trim()};
      if ($("fix-url").value.trim()) t.url = $("fix-url").value.trim();
      if (!$("fix-parcel-row").hidden && $("fix-parcel").value) t.parcel_id = $("fix-parcel").value;
      sendFix({tracking: t});
    });
    $("fix-address").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const a = {};
      for (const [k, id] of [["name", "addr-name"], ["company", "addr-company"], ["line1", "addr-line1"], ["line2", "addr-line2"], ["city", "addr-city"],
        ["postal_code", "addr-postal"], ["region", "addr-region"], ["country", "addr-country"], ["phone", "addr-phone"]]) {
        const v = $(id).value.trim();
        if (v) a[k] = v;
      }
      sendFix({shipping_address: a});
    });
    $("link-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const r = await api("POST", base() + "/orders/" + seg(currentID()) + "/link", {store_order_id: $("link-store").value.trim()});
      say("order-msg", ok(r) ? "Linked: the store order is read and synced now." : problem(r), ok(r) ? "ok" : "bad");
    });
    $("alias-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const sku = $("alias-store").value.trim();
      // API Gateway decodes the path before routing: such a SKU cannot be named.
      if (sku.includes("/")) return say("order-msg", (words.messages || {}).alias_slash || "A store SKU holding / cannot be aliased.", "bad");
      const r = await api("PUT", base() + "/aliases/" + seg(sku), {marketplace_sku: $("alias-market").value.trim()});
      if (!ok(r)) return say("order-msg", problem(r), "bad");
      say("order-msg", "Alias saved; " + (r.body.queued || []).length + " order(s) queued to sync again.", "ok");
      setTimeout(openOrderKeepMsg, 1500);
    });
    $("cred-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const r = await api("PUT", base() + "/credentials/" + seg($("cred-side").value), {credential: $("cred-value").value});
      $("cred-value").value = "";
      say("cred-msg", ok(r) ? "Sent. Waiting orders sync again once ordersync has checked it (within minutes)." : problem(r), ok(r) ? "ok" : "bad");
      refreshHealth();
    });
    $("job-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const f = {state: $("job-state").value};
      if ($("job-code").value.trim()) f.code = $("job-code").value.trim();
      if ($("job-since").value) f.since = $("job-since").value;
      if ($("job-until").value) f.until = $("job-until").value;
      const r = await api("POST", base() + "/jobs", {filter: f});
      if (!ok(r)) return say("jobs-msg", problem(r), "bad");
      say("jobs-msg", "Job started.", "ok");
      setTimeout(loadJobs, 500);
    });
    // A session survives a reload of the tab, not the tab itself.
    const saved = sessionStorage.getItem(SESSION);
    if (saved) {
      try {
        const s = JSON.parse(saved);
        $("conn").value = s.conn || "";
        const m = await signIn(s.conn, s.key);
        if (m) say("signin-msg", m, "bad");
      } catch (e) { sessionStorage.removeItem(SESSION); }
    }
  });
})();
