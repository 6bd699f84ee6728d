// Sign-in for one browser tab, shared by every page of every service (served at
// /static/signin.js). The token is pasted into the bar, or handed over in a link's
// #token= fragment, which no server ever sees and which leaves the address bar at once.
// Display only: every call is checked by the service.
"use strict";
const XJ = (() => {
  const KEY = "xj-token";
  const handed = new URLSearchParams(location.hash.slice(1)).get("token");
  if (handed) {
    sessionStorage.setItem(KEY, handed);
    history.replaceState(null, "", location.pathname + location.search);
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
    403: "无此权限 Your roles do not allow this",
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
  return { token, headers, claims, api, download, mount };
})();
