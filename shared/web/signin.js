// Sign-in for one browser tab, shared by every page of every service (served at
// /static/signin.js). The token is pasted into the bar, or handed over in a link's
// #token= fragment, which no server ever sees and which leaves the address bar at once.
// Display only: every call is checked by the service.
"use strict";
const XJ = (() => {
  const KEY = "xj-token";
  const handed = new URLSearchParams(location.hash.slice(1)).get("token");
  const subjectOf = t => {
    try {
      return JSON.parse(atob(t.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).sub || "";
    } catch (e) {
      return "";
    }
  };
  if (handed) {
    history.replaceState(null, "", location.pathname + location.search);
    // A link must not silently put another person in place of the one signed in here.
    const current = sessionStorage.getItem(KEY);
    const was = current ? subjectOf(current) : "";
    const now = subjectOf(handed);
    if (!was || was === now || confirm(`切换登录人员：${was} → ${now}？ Switch the person signed in from ${was} to ${now}?`)) {
      sessionStorage.setItem(KEY, handed);
    }
  }
  const token = () => sessionStorage.getItem(KEY) || "";
  const headers = (extra = {}) => (token() ? { ...extra, Authorization: "Bearer " + token() } : { ...extra });
  function claims() {
    try {
      return JSON.parse(atob(token().split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    } catch (e) {
      return null;
    }
  }
  const WORDS = {
    401: "需要登录 Sign in first",
    403: "不允许 Not allowed",
    404: "找不到 Not found",
    409: "情况已有变化 Things have changed",
    413: "文件太大 The file is too large",
    422: "内容有误 Please check what was entered",
    503: "尚未配置登录 Sign-in is not configured on this service",
  };
  // JSON from a signed call, or {failed, message} in words.
  async function api(url, init = {}) {
    const r = await fetch(url, { ...init, headers: headers(init.headers || {}) });
    const doc = await r.json().catch(() => ({}));
    if (r.ok) return doc;
    return { failed: r.status, message: (WORDS[r.status] || r.statusText) + (doc.message ? " — " + doc.message : "") };
  }
  // A download the service guards: fetched with the sign-in, then saved under its own name.
  async function download(url) {
    const r = await fetch(url, { headers: headers() });
    if (!r.ok) {
      alert(WORDS[r.status] || "下载失败 Download failed: " + r.statusText);
      return;
    }
    const name = (r.headers.get("content-disposition") || "").match(/filename="([^"]+)"/);
    const link = Object.assign(document.createElement("a"), { href: URL.createObjectURL(await r.blob()) });
    link.download = name ? name[1] : "";
    link.click();
    URL.revokeObjectURL(link.href);
  }
  // The sign-in bar in `el`; `changed` runs after signing in or out.
  function mount(el, role, changed) {
    el.innerHTML = `<span data-who></span>
      <label>访问令牌 Token (role <code>${role}</code>) <input type="password" autocomplete="off" data-token></label>
      <button type="button" data-sign-in>登录 Sign in</button> <button type="button" data-sign-out>退出 Sign out</button>
      <small>本地 local stack: <code>make token WHO=&lt;name&gt; ROLES=${role}</code></small>`;
    const who = el.querySelector("[data-who]");
    const show = () => {
      const c = claims();
      who.textContent = c ? `已登录 ${c.name || c.sub} · ${[].concat(c.roles || []).join(", ")}` : "未登录 not signed in";
      who.dataset.signedIn = String(Boolean(c));
    };
    el.querySelector("[data-sign-in]").onclick = () => {
      const input = el.querySelector("[data-token]");
      sessionStorage.setItem(KEY, input.value.trim());
      input.value = "";
      show();
      changed();
    };
    el.querySelector("[data-sign-out]").onclick = () => {
      sessionStorage.removeItem(KEY);
      show();
      changed();
    };
    document.querySelectorAll("a[data-signed]").forEach(a => (a.onclick = ev => { ev.preventDefault(); download(a.href); }));
    show();
  }
  const esc = s => String(s ?? "").replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  const cny = n => "¥" + (n ?? 0).toLocaleString("zh-CN");
  // A moment in the office's time (Beijing), as the audit filters' dates are.
  const when = iso => (iso ? new Date(iso).toLocaleString("sv-SE", { timeZone: "Asia/Shanghai", hour12: false }) : "");
  const held = () => new Set([].concat((claims() || {}).roles || []));
  const can = (...roles) => roles.some(r => held().has(r));
  // Pages show only what the roles allow: [data-role="approver treasurer"] is hidden unless
  // the token holds one of them. Display only: the service refuses the call anyway (403).
  function applyRoles(root = document) {
    root.querySelectorAll("[data-role]").forEach(el => (el.hidden = !can(...el.dataset.role.split(" "))));
  }
  // Every action says what it will do and waits for the person's word: resolves true or false.
  function ask(panel, what, yes = "确认 Confirm") {
    panel.hidden = false;
    panel.className = "panel";
    panel.innerHTML = `<div data-what>${what}</div><p class="bar"><button type="button" data-yes>${yes}</button>
      <button type="button" class="quiet" data-no>取消 Cancel</button></p>`;
    panel.scrollIntoView({ block: "nearest" });
    return new Promise(done => {
      panel.querySelector("[data-yes]").onclick = () => { panel.querySelector("[data-yes]").disabled = true; done(true); };
      panel.querySelector("[data-no]").onclick = () => { panel.hidden = true; done(false); };
    });
  }
  // ... and what it did, or why not, in words.
  function tell(panel, html, refused = false) {
    panel.hidden = false;
    panel.className = refused ? "panel refused" : "panel result";
    panel.innerHTML = html;
  }
  let labels = null;
  const words = async () => (labels = labels || (await (await fetch("/static/labels.json")).json()));
  // Where a fact's trace is shown (TRACE_UI_URL, a Zipkin UI), or null: the link to the
  // traces of an event, found by the event id every consumed record's span is tagged with.
  let traceUi;
  const traceOf = async eventId => {
    if (traceUi === undefined) traceUi = (await (await fetch("/static/trace-ui.json")).json()).url;
    return traceUi && `${traceUi}/?annotationQuery=${encodeURIComponent("xj.event_id=" + eventId)}&lookback=7d&limit=10`;
  };
  const PAGES = [
    ["/approvals", "奖励审批 Approvals"],
    ["/treasury", "付款与对账 Treasury"],
    ["/lookup", "企业查询 Lookup"],
    ["/audit", "审计记录 Audit"],
    ["/policy", "政策版本 Policy"],
  ];
  // The workspace's header: its pages, who is signed in with which roles, sign-in and out.
  function workspace(el, changed) {
    el.className = "workspace";
    const here = location.pathname;
    el.innerHTML = `<h1>创业奖励工作台 <small>Awards workspace</small></h1><nav>${PAGES.map(([href, label]) =>
      `<a href="${href}"${href === here ? ' aria-current="page"' : ""}>${label}</a>`).join("")}</nav>
      <span class="who"><span data-who></span> <a data-sign-in href="/sign-in?next=${encodeURIComponent(here + location.search)}">登录 Sign in</a>
      <button type="button" data-sign-out>退出 Sign out</button></span>`;
    const c = claims();
    el.querySelector("[data-who]").textContent = c
      ? `${c.name || c.sub} · ${[].concat(c.roles || []).join(", ")}`
      : "未登录 not signed in";
    el.querySelector("[data-who]").dataset.signedIn = String(Boolean(c));
    el.querySelector("[data-sign-in]").hidden = Boolean(c);
    el.querySelector("[data-sign-out]").hidden = !c;
    el.querySelector("[data-sign-out]").onclick = () => {
      sessionStorage.removeItem(KEY);
      workspace(el, changed);
      changed();
    };
    document.querySelectorAll("a[data-signed]").forEach(a => (a.onclick = ev => { ev.preventDefault(); download(a.href); }));
    applyRoles();
  }
  const signIn = t => sessionStorage.setItem(KEY, t.trim());
  return { token, headers, claims, api, download, mount, esc, cny, when, can, applyRoles, ask, tell, words, traceOf, workspace, signIn };
})();
