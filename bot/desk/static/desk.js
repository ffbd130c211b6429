// The organizers' desk: reads the bot's JSON API with the initData Telegram opened it with.
"use strict";

const app = window.Telegram && window.Telegram.WebApp;
const initData = app ? app.initData : "";
const REFRESH_SENDING = 1500; // ms between readings while a broadcast goes out
const REFRESH_IDLE = 15000;
let words = {};

// A word from the bot's catalogs, its {placeholders} (format specs too: {sent:,}) filled in.
function say(key, values) {
  const given = values || {};
  return (words[key] || key).replace(/\{(\w+)(?::[^}]*)?\}/g,
    (whole, name) => (name in given ? String(given[name]) : whole));
}

async function call(path, body) {
  const request = { headers: { Authorization: "tma " + initData } };
  if (body instanceof FormData) { // a file: the browser writes the multipart body
    request.method = "POST";
    request.body = body;
  } else if (body !== undefined) {
    request.method = "POST";
    request.headers["Content-Type"] = "application/json";
    request.body = JSON.stringify(body);
  }
  const answer = await fetch("api/" + path, request);
  const found = await answer.json().catch(() => ({}));
  if (!answer.ok) {
    const error = new Error(found.message || found.reason || answer.statusText);
    error.status = answer.status;
    error.refusal = found;
    throw error;
  }
  return found;
}

function element(tag, attributes, ...children) {
  const made = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (name === "text") made.textContent = value;
    else made.setAttribute(name, value);
  }
  for (const child of children) if (child) made.append(child);
  return made;
}

function tile(label, value) {
  return element("div", { class: "tile" }, element("b", { text: String(value) }),
    element("span", { text: label }));
}

function signed(number) {
  return number > 0 ? "+" + number : String(number);
}

// A bar chart of the last 30 days: joins up, leaves down, drawn as SVG (no library).
function chart(days) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  const top = Math.max(1, ...days.map((d) => Math.max(d.joins, d.leaves)));
  const width = 300, height = 100, middle = height / 2, step = width / days.length;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("class", "chart");
  svg.setAttribute("role", "img");
  const total = (key) => days.reduce((sum, d) => sum + d[key], 0);
  svg.setAttribute("aria-label", `${say("DESK_CHART")}: ${total("joins")} ${say("DESK_JOINED")}, `
    + `${total("leaves")} ${say("DESK_LEFT")}`);
  days.forEach((day, index) => {
    for (const [key, up] of [["joins", true], ["leaves", false]]) {
      const size = (day[key] / top) * (middle - 2);
      if (!size) continue;
      const bar = document.createElementNS(ns, "rect");
      bar.setAttribute("x", String(index * step + 1));
      bar.setAttribute("width", String(Math.max(1, step - 2)));
      bar.setAttribute("y", String(up ? middle - size : middle));
      bar.setAttribute("height", String(size));
      bar.setAttribute("class", key);
      const title = document.createElementNS(ns, "title");
      title.textContent = `${day.day}: ${day[key]} ${say(up ? "DESK_JOINED" : "DESK_LEFT")}`;
      bar.append(title);
      svg.append(bar);
    }
  });
  return svg;
}

function list(title, rows) {
  if (!rows.length) return null;
  const items = rows.map(([name, count]) => element("li", { text: `${name}: ${count}` }));
  return element("div", {}, element("h3", { text: title }), element("ul", {}, ...items));
}

function showOverview(overviews) {
  const section = document.getElementById("overview");
  section.replaceChildren();
  for (const o of overviews) {
    const sources = o.sources.map((s) => [s.source || say("STATS_NO_SOURCE"), `${s.active} / ${s.total}`]);
    const parts = [
      element("h2", { text: o.title }),
      element("div", { class: "tiles" },
        tile(say("DESK_PEOPLE"), o.private), tile(say("DESK_GROUPS"), o.groups),
        tile(say("DESK_NET_7"), signed(o.net_7_days)), tile(say("DESK_NET_30"), signed(o.net_30_days))),
      element("h3", { text: say("DESK_CHART") }), chart(o.days),
      list(say("DESK_SOURCES"), sources), list(say("DESK_LANGUAGES"), o.languages),
      list(say("DESK_TOPICS"), o.topics), list(say("DESK_PLEDGES"), o.pledges)];
    section.append(...parts.filter(Boolean));
  }
  section.hidden = false;
}

function showBroadcasts(broadcasts) {
  const section = document.getElementById("broadcasts");
  section.replaceChildren(element("h2", { text: say("DESK_BROADCASTS") }));
  if (!broadcasts.length) section.append(element("p", { class: "hint", text: say("BROADCASTS_NONE") }));
  for (const b of broadcasts) {
    const share = b.total ? Math.round((100 * b.done) / b.total) : 0;
    const bar = element("div", { role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100",
      "aria-valuenow": String(share), "aria-label": `#${b.broadcast_id}`, class: "bar" }, element("div"));
    bar.firstChild.style.width = share + "%";
    const counts = say("BROADCAST_COUNTS", { sent: b.sent, blocked: b.blocked, failed: b.failed });
    const notes = [say("DESK_STATE_" + b.state.toUpperCase()), `${b.done} / ${b.total}`];
    if (b.rate) notes.push(say("DESK_RATE", { rate: b.rate.toFixed(1) }));
    if (b.approved_by) notes.push(say("DESK_APPROVED_BY", { who: b.approved_by }));
    const failures = b.failures.map((f) => element("li", { text: `${f.count}: ${f.reason || f.outcome}` }));
    const buttons = element("div", { class: "actions" });
    const act = (label, action) => {
      const made = element("button", { type: "button", "data-action": action, text: `${say(label)} #${b.broadcast_id}` });
      made.addEventListener("click", () => decide(b.broadcast_id, action));
      buttons.append(made);
    };
    if (b.state === "sending") act("BUTTON_STOP", "stop");
    if (b.state === "scheduled") act("BUTTON_UNSCHEDULE", "stop");
    if (b.state === "awaiting") {
      act("BUTTON_APPROVE", "approve");
      act("BUTTON_REJECT", "reject");
    }
    const fix = b.correction;
    if (fix) notes.push(correctionNote(b.broadcast_id, fix));
    if (fix && fix.state === "awaiting") {
      const fixing = (label, action) => {
        const made = element("button", { type: "button", "data-action": `correction-${action}`,
          text: `${say(label)} #${b.broadcast_id}` });
        made.addEventListener("click", () => decideCorrection(fix.correction_id, action));
        buttons.append(made);
      };
      if (fix.created_by === me.id) fixing("BUTTON_CANCEL", "cancel");
      else {
        fixing("BUTTON_APPROVE", "approve");
        fixing("BUTTON_REJECT", "reject");
      }
    } else if (b.correctable && !(fix && fix.state === "running")) {
      const offer = (label, action, handler) => {
        const made = element("button", { type: "button", "data-action": action, text: `${say(label)} #${b.broadcast_id}` });
        made.addEventListener("click", () => handler(b.broadcast_id));
        buttons.append(made);
      };
      offer("BUTTON_EDIT", "edit", openEditor);
      offer("BUTTON_DELETE", "delete", offerDelete);
    }
    const stopButton = buttons.childElementCount ? buttons : null;
    section.append(element("article", { class: "broadcast", "data-id": String(b.broadcast_id) },
      element("b", { text: `#${b.broadcast_id} ${b.campaign_id}` }), bar,
      element("p", { class: "hint", text: notes.join(" · ") }),
      element("p", { text: counts }), failures.length ? element("ul", {}, ...failures) : null,
      stopButton));
  }
  section.hidden = false;
  return broadcasts.some((b) => b.state === "sending" || (b.correction && b.correction.state === "running"));
}

function correctionNote(number, fix) {
  if (fix.state === "awaiting") return say("DESK_CORRECTION_AWAITING");
  const edit = fix.kind === "edit";
  if (fix.state === "running") return plain(say(edit ? "EDITING" : "DELETING", { id: number }));
  if (fix.state === "done") return plain(say(edit ? "EDIT_DONE" : "DELETE_DONE", { id: number }));
  return "";
}

function showDrafts(drafts) {
  const section = document.getElementById("drafts");
  section.replaceChildren();
  if (!drafts.length) {
    section.hidden = true;
    return;
  }
  section.append(element("h2", { text: say("DESK_DRAFTS") }));
  for (const d of drafts) {
    const buttons = element("div", { class: "actions" });
    for (const [label, action] of [["BUTTON_DRAFT_ADD", "add"], ["BUTTON_DRAFT_IGNORE", "ignore"]]) {
      const made = element("button", { type: "button", "data-action": `draft-${action}`, text: say(label) });
      made.addEventListener("click", () => decideDraft(d.item_id, action));
      buttons.append(made);
    }
    section.append(element("article", { class: "broadcast", "data-draft": String(d.item_id) },
      element("b", { text: d.title || "…" }),
      element("p", { class: "hint", text: [d.campaign_id, d.date].filter(Boolean).join(" · ") }),
      element("p", { class: "excerpt", text: d.body }), buttons));
  }
  section.hidden = false;
}


// The message as subscribers will see it: Telegram's HTML, only the tags Telegram knows,
// rebuilt node by node (never innerHTML), so nothing in it can run.
const KEPT = new Set(["B", "STRONG", "I", "EM", "U", "INS", "S", "STRIKE", "DEL", "CODE", "PRE",
  "BLOCKQUOTE", "TG-SPOILER", "SPAN"]);

// The words of a message without its tags (for a line of notes).
function plain(html) {
  return new DOMParser().parseFromString(`<body>${html}</body>`, "text/html").body.textContent;
}

function rendered(html) {
  const bubble = element("div", { class: "bubble" });
  bubble.append(...richText(html));
  return bubble;
}

function richText(html) {
  const parsed = new DOMParser().parseFromString(`<body>${html}</body>`, "text/html");
  const copy = (node) => {
    if (node.nodeType === Node.TEXT_NODE) return document.createTextNode(node.textContent);
    if (node.nodeType !== Node.ELEMENT_NODE) return null;
    let made;
    if (node.tagName === "A" && /^(https?:|tg:)/.test(node.getAttribute("href") || "")) {
      made = element("a", { href: node.getAttribute("href"), rel: "noopener", target: "_blank" });
    } else if (KEPT.has(node.tagName)) {
      made = document.createElement(node.tagName === "TG-SPOILER" ? "span" : node.tagName);
    } else {
      made = document.createDocumentFragment();
    }
    for (const child of node.childNodes) {
      const kept = copy(child);
      if (kept) made.append(kept);
    }
    return made;
  };
  const kept = [];
  for (const child of parsed.body.childNodes) {
    const made = copy(child);
    if (made) kept.push(made);
  }
  return kept;
}

let prepared = null; // the broadcast shown in the preview, waiting for Send
let me = null;

// Say what became of an action (the bot's words may carry Telegram's tags: drawn safely).
function composeStatus(text, refusal) {
  const status = document.getElementById("compose-status");
  status.replaceChildren(...richText(text || ""));
  status.className = refusal ? "refusal" : "hint";
}

function failed(error) {
  composeStatus((error.refusal && error.refusal.message) || error.message, true);
}

function fillTopics() {
  const campaign = me.campaigns.find((c) => c.id === document.getElementById("campaign").value);
  const topic = document.getElementById("topic");
  topic.replaceChildren(element("option", { value: "", text: say("DESK_TOPIC_ALL") }));
  for (const t of (campaign ? campaign.topics : [])) {
    topic.append(element("option", { value: t.id, text: t.title }));
  }
}

function showComposer() {
  for (const node of document.querySelectorAll("[data-word]")) node.textContent = say(node.dataset.word);
  document.getElementById("compose-title").textContent = say("DESK_COMPOSE");
  const select = document.getElementById("campaign");
  select.replaceChildren(...me.campaigns.map((c) => element("option", { value: c.id, text: c.title })));
  document.getElementById("campaign-field").hidden = me.campaigns.length < 2;
  select.addEventListener("change", fillTopics);
  fillTopics();
  document.getElementById("compose").addEventListener("submit", (event) => {
    event.preventDefault();
    preview();
  });
  document.getElementById("test-button").addEventListener("click", test);
  document.getElementById("send-button").addEventListener("click", confirmSend);
  document.getElementById("cancel-button").addEventListener("click", cancel);
  if (app && app.MainButton) app.MainButton.onClick(confirmSend);
  document.getElementById("composer").hidden = false;
}

function hidePreview() {
  prepared = null;
  document.getElementById("preview").hidden = true;
  if (app && app.MainButton) app.MainButton.hide();
}

async function preview() {
  const form = document.getElementById("compose");
  const body = Object.fromEntries(new FormData(form).entries());
  composeStatus("");
  try {
    prepared = await call("broadcasts", body);
  } catch (error) {
    hidePreview();
    composeStatus((error.refusal && error.refusal.message) || error.message, true);
    return;
  }
  const versions = document.getElementById("versions");
  versions.replaceChildren();
  for (const version of prepared.versions) {
    if (prepared.versions.length > 1) {
      versions.append(element("h3", { text: say("DESK_VERSION", { language: version.name, count: version.readers }) }));
    }
    for (const part of version.parts) {
      versions.append(typeof part === "string" ? rendered(part) : element("div", { class: "bubble", text: `[${part.type}]` }));
    }
  }
  document.getElementById("recipients").textContent =
    say("DESK_RECIPIENTS", { count: prepared.count, messages: prepared.messages });
  const label = say(prepared.send_at ? "BUTTON_SCHEDULE" : "BUTTON_SEND");
  document.getElementById("send-button").textContent = label;
  document.getElementById("preview").hidden = false;
  if (app && app.MainButton) app.MainButton.setText(label).show();
}

async function test() {
  if (!prepared) return;
  try {
    const answer = await call(`broadcasts/${prepared.broadcast_id}/test`, {});
    composeStatus(answer.failed.length ? answer.failed.join(" ") : say("DESK_TEST_SENT"), answer.failed.length > 0);
  } catch (error) {
    failed(error);
  }
}

function confirmSend() {
  if (!prepared) return;
  const question = say("DESK_CONFIRM_SEND", { id: prepared.broadcast_id, count: prepared.count });
  if (app && app.showConfirm) app.showConfirm(question, (ok) => { if (ok) send(); });
  else if (window.confirm(question)) send();
}

async function send() {
  if (!prepared) return;
  const number = prepared.broadcast_id;
  try {
    const sent = await call(`broadcasts/${number}/send`, {});
    hidePreview();
    document.getElementById("compose").reset();
    if (sent.outcome === "held") composeStatus(say("DESK_HELD"));
    else if (sent.outcome === "scheduled") composeStatus(say("DESK_SCHEDULED", { id: number, when: sent.send_at }));
    else composeStatus(say("BROADCAST_QUEUED", { total: sent.total }));
  } catch (error) {
    failed(error);
  }
  refreshSoon();
}

async function cancel() {
  if (!prepared) return;
  try {
    const answer = await call(`broadcasts/${prepared.broadcast_id}/cancel`, {});
    composeStatus(answer.message);
  } catch (error) {
    failed(error);
  }
  hidePreview();
}

async function decide(number, action) {
  try {
    const answer = await call(`broadcasts/${number}/${action}`, {});
    composeStatus(answer.message);
  } catch (error) {
    failed(error);
  }
  refreshSoon();
}

let correction = null; // the edit shown in the editor, waiting for Apply

async function openEditor(number) {
  let found;
  try {
    found = await call(`broadcasts/${number}/text`);
  } catch (error) {
    failed(error);
    return;
  }
  closeEditor();
  document.getElementById("editor-title").textContent = say("DESK_EDIT_TITLE", { id: number });
  const text = document.getElementById("edit-text");
  text.value = found.text;
  text.dataset.broadcast = String(number);
  document.getElementById("editor").hidden = false;
  if (app && app.BackButton) app.BackButton.show();
  text.focus();
}

function closeEditor() {
  correction = null;
  document.getElementById("editor").hidden = true;
  document.getElementById("edit-preview").hidden = true;
  document.getElementById("edit-status").textContent = "";
  if (app && app.BackButton) app.BackButton.hide();
}

async function previewEdit() {
  const text = document.getElementById("edit-text");
  const status = document.getElementById("edit-status");
  status.replaceChildren();
  try {
    correction = await call(`broadcasts/${text.dataset.broadcast}/edit`, { text: text.value });
  } catch (error) {
    correction = null;
    document.getElementById("edit-preview").hidden = true;
    status.className = "refusal";
    status.replaceChildren(...richText((error.refusal && error.refusal.message) || error.message));
    return;
  }
  const versions = document.getElementById("edit-versions");
  versions.replaceChildren();
  for (const version of correction.versions) {
    versions.append(element("h3", { text: say("DESK_VERSION", { language: version.name, count: version.readers }) }));
    for (const part of version.parts) {
      versions.append(typeof part === "string" ? rendered(part) : rendered(part.caption || `[${part.type}]`));
    }
  }
  document.getElementById("edit-question").replaceChildren(...richText(correction.question));
  document.getElementById("edit-preview").hidden = false;
}

async function applyCorrection(found) {
  try {
    const answer = await call(`corrections/${found.correction_id}/apply`, {});
    composeStatus(answer.message);
  } catch (error) {
    failed(error);
  }
  refreshSoon();
}

async function applyEdit() {
  if (!correction) return;
  const found = correction;
  closeEditor();
  await applyCorrection(found);
}

async function cancelEdit() {
  const found = correction;
  closeEditor();
  if (found) await call(`corrections/${found.correction_id}/cancel`, {}).catch(() => null);
}

async function offerDelete(number) {
  let found;
  try {
    found = await call(`broadcasts/${number}/delete`, {});
  } catch (error) {
    failed(error);
    return;
  }
  const question = plain(found.question);
  const answer = (ok) => {
    if (ok) applyCorrection(found);
    else call(`corrections/${found.correction_id}/cancel`, {}).catch(() => null);
  };
  if (app && app.showConfirm) app.showConfirm(question, answer);
  else answer(window.confirm(question));
}

async function decideCorrection(number, action) {
  try {
    const answer = await call(`corrections/${number}/${action}`, {});
    composeStatus(answer.message);
  } catch (error) {
    failed(error);
  }
  refreshSoon();
}

async function decideDraft(number, action) {
  try {
    const answer = await call(`drafts/${number}/${action}`, {});
    composeStatus(answer.message);
  } catch (error) {
    failed(error);
  }
  refreshSoon();
}

// Telegram downloads the list itself (downloadFile): the link carries a short-lived grant,
// since Telegram's download sends no initData.
async function download() {
  const campaign = me.campaigns.length === 1 ? me.campaigns[0].id : document.getElementById("campaign").value;
  let link;
  try {
    link = await call("export", { campaign });
  } catch (error) {
    failed(error);
    return;
  }
  const url = new URL(link.path, window.location.href).href;
  if (app && app.downloadFile && app.isVersionAtLeast && app.isVersionAtLeast("8.0")) {
    app.downloadFile({ url, file_name: link.file_name });
  } else {
    window.location.assign(url);
  }
}

function showTools() {
  document.getElementById("edit-form").addEventListener("submit", (event) => {
    event.preventDefault();
    previewEdit();
  });
  document.getElementById("apply-button").addEventListener("click", applyEdit);
  document.getElementById("edit-cancel-button").addEventListener("click", cancelEdit);
  document.getElementById("close-editor").addEventListener("click", cancelEdit);
  if (app && app.BackButton) app.BackButton.onClick(cancelEdit);
  const exporting = document.getElementById("export-button");
  exporting.textContent = say("DESK_EXPORT");
  exporting.addEventListener("click", download);
  document.getElementById("export").hidden = false;
}

function refuse(error) {
  const status = document.getElementById("status");
  status.className = "refusal";
  const refusal = error.refusal || {};
  status.textContent = refusal.message || say("DESK_UNREACHABLE");
  for (const id of ["composer", "editor", "overview", "broadcasts", "drafts", "export"]) {
    document.getElementById(id).hidden = true;
  }
}

let timer = null;

function refreshSoon() {
  clearTimeout(timer);
  timer = setTimeout(() => refresh(true), 300);
}

let readAll = 0; // when the numbers and drafts were last read (ms)

// While a broadcast goes out only its progress is re-read every REFRESH_SENDING; the numbers
// and the drafts (the costly readings) at most every REFRESH_IDLE, or at once after an action.
async function refresh(everything) {
  clearTimeout(timer);
  let sending = false;
  const all = everything === true || Date.now() - readAll >= REFRESH_IDLE;
  try {
    const [broadcasts, overviews, drafts] = await Promise.all(
      [call("broadcasts"), all ? call("overview") : null, all ? call("drafts") : null]);
    if (all) {
      readAll = Date.now();
      showOverview(overviews);
      showDrafts(drafts);
    }
    sending = showBroadcasts(broadcasts);
    document.getElementById("status").textContent = "";
  } catch (error) {
    refuse(error);
    if (error.status === 401 || error.status === 403) return;
  }
  timer = setTimeout(refresh, sending ? REFRESH_SENDING : REFRESH_IDLE);
}

async function start() {
  if (app) {
    app.ready();
    app.expand();
  }
  try {
    me = await call("me");
    words = me.words;
    document.documentElement.lang = me.language;
    document.documentElement.dir = me.direction;
    document.title = say("DASHBOARD_BUTTON");
  } catch (error) {
    refuse(error);
    return;
  }
  document.getElementById("status").textContent = say("DESK_LOADING");
  showComposer();
  showTools();
  document.dispatchEvent(new Event("desk:ready")); // writer.js: the campaign's words
  await refresh();
}

start();
