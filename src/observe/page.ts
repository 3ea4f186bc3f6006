/**
 * The Observer's page: one self-contained HTML document (no external resource, no build step)
 * that polls `/api/cluster` every `refreshMs` and draws the nodes, the hub's children by node,
 * the top processes, crashes and events; supervision trees load one level per click
 * (`/api/tree`), a process's detail on demand (`/api/process`); with actions on, a process can be
 * killed and a node drained (each after a confirmation). Elements carry `data-*`
 * attributes the end-to-end test reads. Imports nothing.
 */

const STYLE = `
*{box-sizing:border-box}body{margin:0;font:13px/1.4 system-ui,sans-serif;background:#0f1419;color:#d8dee4}
header{display:flex;gap:16px;align-items:baseline;padding:10px 16px;background:#161b22;border-bottom:1px solid #30363d}
h1{font-size:16px;margin:0}h2{font-size:13px;margin:0 0 6px;color:#8b949e;text-transform:uppercase;letter-spacing:.05em}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:12px;padding:12px 16px}
section{background:#161b22;border:1px solid #30363d;border-radius:6px;padding:10px 12px;overflow:auto;max-height:420px}
.wide{grid-column:1/-1}.nodes{display:flex;flex-wrap:wrap;gap:8px}
.card{border:1px solid #30363d;border-radius:6px;padding:8px 10px;min-width:170px}
.card[data-status=up]{border-left:4px solid #3fb950}.card[data-status=down]{border-left:4px solid #f85149;opacity:.7}
.card[data-status=unreachable]{border-left:4px solid #d29922}.card b{font-size:14px}
.muted{color:#8b949e}table{border-collapse:collapse;width:100%}td,th{padding:2px 6px;text-align:left;border-bottom:1px solid #21262d}
th{color:#8b949e;font-weight:500}.num{text-align:right;font-variant-numeric:tabular-nums}
.bar{height:8px;background:#1f6feb;border-radius:2px}.tree ul{list-style:none;margin:0;padding-left:16px}
.tree li{cursor:pointer;white-space:nowrap}.tree .sup::before{content:"▸ "}.tree .open::before{content:"▾ "}
pre{white-space:pre-wrap;word-break:break-all;background:#0d1117;padding:6px;border-radius:4px;margin:4px 0}
button{background:#21262d;color:#d8dee4;border:1px solid #30363d;border-radius:4px;padding:2px 8px;cursor:pointer}
button.danger{border-color:#f85149;color:#f85149}select{background:#0d1117;color:#d8dee4;border:1px solid #30363d}
`;

const SCRIPT = String.raw`
const token = new URLSearchParams(location.search).get("token");
const headers = token ? { authorization: "Bearer " + token } : {};
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s == null ? "" : s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
const kb = (n) => (n / 1048576).toFixed(1) + " MB";
const time = (t) => new Date(t).toLocaleTimeString();
let last = null, treeNode = null;
async function api(path, method) {
  const r = await fetch(path, { headers, method: method || "GET" });
  if (!r.ok) throw new Error(r.status + " " + (await r.text()));
  return r.json();
}
function row(cells) { return "<tr>" + cells.map((c) => "<td" + (typeof c === "number" ? " class=num" : "") + ">" + esc(c) + "</td>").join("") + "</tr>"; }
function table(head, rows) { return rows.length === 0 ? "<p class=muted>none</p>" : "<table><tr>" + head.map((h) => "<th>" + esc(h) + "</th>").join("") + "</tr>" + rows.join("") + "</table>"; }
function drawNodes(v) {
  $("nodes").innerHTML = v.nodes.map((n) => {
    const s = n.snapshot;
    const body = s ? "<div>" + s.processCount.toLocaleString() + " processes</div><div class=muted>max mailbox " + s.maxMailbox +
      " · heap " + kb(s.memory.heapUsed) + "</div><div class=muted>hub children " + s.hubs.reduce((a, h) => a + h.local, 0) + "</div>"
      : "<div class=muted>" + esc(n.status === "down" ? "left the cluster" : (n.error || "no answer")) + "</div>";
    const drain = !s || !v.actions || !s.actions || s.hubs.length === 0 ? ""
      : draining.has(n.node) ? "<div class=muted>draining…</div>"
      : "<div><button class=danger data-drain=\"" + esc(n.node) + "\">drain</button></div>";
    return "<div class=card data-node=\"" + esc(n.node) + "\" data-status=\"" + n.status + "\"><b>" + esc(n.node) + "</b> <span class=muted>" + n.status + "</span>" + body + drain + "</div>";
  }).join("");
}
const draining = new Set();
$("nodes").addEventListener("click", async (ev) => {
  const b = ev.target.closest("button[data-drain]");
  if (!b) return;
  const node = b.dataset.drain;
  if (!confirm("Drain " + node + "? Its hub children move to the other nodes, then its hubs stop there.")) return;
  draining.add(node);
  b.replaceWith(Object.assign(document.createElement("div"), { className: "muted", textContent: "draining…" }));
  const r = await api("/api/drain?node=" + encodeURIComponent(node), "POST").catch((e) => ({ ok: false, error: e.message }));
  draining.delete(node);
  const n = $("notice");
  n.dataset.drained = node;
  n.dataset.ok = String(r.ok);
  n.textContent = r.ok ? node + " drained: " + r.hubs.map((h) => h.hub + " " + h.migrated + " moved, " + h.forced + " forced").join("; ") : "drain of " + node + " failed: " + r.error;
});
function drawHubs(v) {
  // Each hub as one of its members sees it: this node's replica when it runs the hub, otherwise
  // the first node up that does (an Observer on a client-only node, as hubvisor observe, runs none).
  const seen = new Map();
  const from = v.nodes.filter((n) => n.snapshot).sort((a, b) => (b.node === v.self) - (a.node === v.self));
  for (const n of from) for (const h of n.snapshot.hubs) if (!seen.has(h.hub)) seen.set(h.hub, h);
  const hubs = Array.from(seen.values()).sort((a, b) => (a.hub < b.hub ? -1 : 1));
  $("hubs").innerHTML = hubs.length === 0 ? "<p class=muted>no hub in the cluster</p>" : hubs.map((h) => {
    const total = Object.values(h.byNode).reduce((a, b) => a + b, 0) || 1;
    const names = Array.from(new Set(v.nodes.map((n) => n.node).concat(Object.keys(h.byNode)))).sort();
    return "<h2>hub " + esc(h.hub) + (h.partitioned ? " · partitioned" : "") + (h.locked ? " · redistributing" : "") + "</h2><table data-hub=\"" + esc(h.hub) + "\"><tr><th>node</th><th class=num>children</th><th></th></tr>" +
      names.map((n) => { const c = h.byNode[n] || 0; return "<tr data-hub-node=\"" + esc(n) + "\" data-children=\"" + c + "\"><td>" + esc(n) + "</td><td class=num>" + c + "</td><td style=width:50%><div class=bar style=width:" + (100 * c / total).toFixed(1) + "%></div></td></tr>"; }).join("") + "</table>";
  }).join("");
}
function drawLists(v) {
  const live = v.nodes.filter((n) => n.snapshot);
  const mb = live.flatMap((n) => n.snapshot.topMailbox.map((p) => [n.node, p])).sort((a, b) => b[1].mailbox - a[1].mailbox).slice(0, 10);
  $("mailbox").innerHTML = table(["node", "process", "behaviour", "mailbox"], mb.map(([n, p]) => row([n, p.name || p.pid, p.behaviour || "", p.mailbox])));
  const rs = live.flatMap((n) => n.snapshot.topRestarts.map((r) => [n.node, r])).sort((a, b) => b[1].restarts - a[1].restarts).slice(0, 10);
  $("restarts").innerHTML = table(["node", "supervisor", "child", "restarts"], rs.map(([n, r]) => row([n, r.supervisor, r.id, r.restarts])));
  const cr = live.flatMap((n) => n.snapshot.crashes.map((c) => [n.node, c])).sort((a, b) => b[1].at - a[1].at).slice(0, 20);
  $("crashes").innerHTML = table(["time", "node", "process", "reason"], cr.map(([n, c]) => row([time(c.at), n, c.name || c.behaviour || c.pid, c.reason])));
  const ev = live.flatMap((n) => n.snapshot.events.map((e) => [n.node, e])).sort((a, b) => b[1].at - a[1].at).slice(0, 40);
  $("events").innerHTML = table(["time", "node", "event"], ev.map(([n, e]) => row([time(e.at), n, e.text])));
}
function drawTreeSelect(v) {
  const names = v.nodes.filter((n) => n.snapshot).map((n) => n.node);
  const sel = $("treeNode");
  if (sel.options.length !== names.length || names.some((n, i) => sel.options[i].value !== n)) {
    sel.innerHTML = names.map((n) => "<option>" + esc(n) + "</option>").join("");
    if (treeNode && names.includes(treeNode)) sel.value = treeNode;
    loadTree();
  }
}
function li(node, r) {
  const label = (r.id != null ? r.id + " " : "") + (r.name || r.pid) + (r.behaviour ? " · " + r.behaviour : "") + (r.mailbox ? " · mailbox " + r.mailbox : "");
  const sup = r.type === "supervisor" || r.type === undefined || r.children;
  return "<li data-pid=\"" + esc(r.pid) + "\" data-node=\"" + esc(node) + "\" class=\"" + (sup ? "sup" : "") + "\">" + esc(label) + "</li>";
}
async function loadTree() {
  treeNode = $("treeNode").value;
  if (!treeNode) return;
  const roots = await api("/api/tree?node=" + encodeURIComponent(treeNode)).catch(() => []);
  $("tree").innerHTML = roots.length === 0 ? "<p class=muted>no supervisor</p>" : "<ul>" + roots.map((r) => li(treeNode, r) + childrenOf(treeNode, r)).join("") + "</ul>";
  for (const el of $("tree").querySelectorAll("li")) if (el.nextElementSibling && el.nextElementSibling.tagName === "UL") el.classList.add("open");
}
function childrenOf(node, r) {
  if (!r.children) return "";
  const more = r.childCount > r.children.length ? "<li class=muted>… " + (r.childCount - r.children.length) + " more</li>" : "";
  return "<ul>" + r.children.map((c) => li(node, c)).join("") + more + "</ul>";
}
$("tree").addEventListener("click", async (ev) => {
  const el = ev.target.closest("li[data-pid]");
  if (!el) return;
  showProcess(el.dataset.node, el.dataset.pid);
  if (!el.classList.contains("sup")) return;
  const next = el.nextElementSibling;
  if (next && next.tagName === "UL") { next.remove(); el.classList.remove("open"); return; }
  const rows = await api("/api/tree?node=" + encodeURIComponent(el.dataset.node) + "&of=" + encodeURIComponent(el.dataset.pid)).catch(() => []);
  if (rows[0]) { el.insertAdjacentHTML("afterend", childrenOf(el.dataset.node, rows[0])); el.classList.add("open"); }
});
async function showProcess(node, pid) {
  const p = await api("/api/process?node=" + encodeURIComponent(node) + "&pid=" + encodeURIComponent(pid)).catch(() => null);
  if (!p) { $("process").innerHTML = "<p class=muted>" + esc(pid) + " is gone</p>"; return; }
  const kill = last && last.actions ? " <button class=danger id=kill>kill</button>" : "";
  $("process").innerHTML = "<div data-process=\"" + esc(p.pid) + "\"><b>" + esc(p.name || p.pid) + "</b> " + esc(p.pid) + " on " + esc(node) + kill +
    table(["status", "behaviour", "mailbox", "trap exit"], [row([p.status, p.behaviour || "", p.mailbox, p.trapExit ? "yes" : "no"])]) +
    "<div class=muted>links</div><pre>" + esc(p.links.join(" ") || "none") + "</pre><div class=muted>monitors / monitored by</div><pre>" +
    esc((p.monitors.join(" ") || "none") + " / " + (p.monitoredBy.join(" ") || "none")) + "</pre>" +
    (p.state !== undefined ? "<div class=muted>state</div><pre>" + esc(p.state) + "</pre>" : "") +
    (p.lastMessage ? "<div class=muted>current or last message</div><pre>" + esc(p.lastMessage) + "</pre>" : "") + "</div>";
  const k = $("kill");
  if (k) k.onclick = async () => { if (confirm("Kill " + p.pid + "?")) { await api("/api/kill?node=" + encodeURIComponent(node) + "&pid=" + encodeURIComponent(p.pid), "POST").catch((e) => alert(e.message)); showProcess(node, pid); } };
}
$("treeNode").addEventListener("change", loadTree);
async function tick() {
  try {
    const v = await api("/api/cluster");
    last = v;
    $("status").textContent = "updated " + time(v.at) + " · " + v.nodes.filter((n) => n.status === "up").length + "/" + v.nodes.length + " nodes up";
    document.body.dataset.updated = String(v.at);
    drawNodes(v); drawHubs(v); drawLists(v); drawTreeSelect(v);
    setTimeout(tick, v.refreshMs);
  } catch (e) {
    $("status").textContent = "cannot reach the observer: " + e.message;
    setTimeout(tick, 2000);
  }
}
tick();
`;

/** The page, for an Observer running on node `self`. */
export function observerPage(self: string): string {
  const title = `hubvisor Observer · ${self.replace(/[<>&"]/g, "")}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title}</title><style>${STYLE}</style></head>
<body>
<header><h1>${title}</h1><span id="status" class="muted">loading…</span><span id="notice"></span></header>
<main>
<section class="wide"><h2>nodes</h2><div id="nodes" class="nodes"></div></section>
<section><h2>hub children by node</h2><div id="hubs"></div></section>
<section><h2>recent events</h2><div id="events"></div></section>
<section class="tree"><h2>supervision trees <select id="treeNode"></select></h2><div id="tree"></div></section>
<section><h2>process</h2><div id="process" class="muted">click a process in a tree</div></section>
<section><h2>top mailboxes</h2><div id="mailbox"></div></section>
<section><h2>top restarts</h2><div id="restarts"></div></section>
<section class="wide"><h2>last crashes</h2><div id="crashes"></div></section>
</main>
<script>${SCRIPT}</script>
</body></html>
`;
}
