// The campaign's words, changed from the desk (issue 22): its title and summary, statements,
// slogans and actions, each text in every language side by side; previewed as subscribers
// get it; saved through the bot's API, which writes only what changed into the campaign's file
// and serves it everywhere; and its history, a version restored.
// Uses say(), call(), element(), rendered(), richText() and plain() from desk.js, loaded first.
"use strict";

let writing = null; // {campaign, opened, languages, shown}: the file as opened, to save against

// What each kind of item holds, in the order shown: [key, word, kind].
const CAMPAIGN_FIELDS = [
  ["title", "DESK_FIELD_TITLE", "texts"],
  ["organization", "DESK_FIELD_ORGANIZATION", "texts"],
  ["summary", "DESK_FIELD_SUMMARY", "long"],
];
const STATEMENT_FIELDS = [
  ["title", "DESK_FIELD_TITLE", "texts"],
  ["date", "DESK_FIELD_DATE", "plain"],
  ["author", "DESK_FIELD_AUTHOR", "texts"],
  ["role", "DESK_FIELD_ROLE", "texts"],
  ["source", "DESK_FIELD_SOURCE", "plain"],
  ["body", "DESK_FIELD_BODY", "body"],
  ["closing", "DESK_FIELD_CLOSING", "lines"],
  ["image", "DESK_FIELD_IMAGE", "picture"],
];
const ACTION_FIELDS = [
  ["title", "DESK_FIELD_TITLE", "texts"],
  ["description", "DESK_FIELD_DESCRIPTION", "long"],
  ["link", "DESK_FIELD_LINK", "plain"],
  ["date", "DESK_FIELD_DAY", "plain"],
  ["time", "DESK_FIELD_TIME", "plain"],
  ["place", "DESK_FIELD_PLACE", "texts"],
  ["image", "DESK_FIELD_IMAGE", "picture"],
];
const LISTS = {
  statements: { word: "DESK_FIELD_STATEMENTS", add: "DESK_ADD_STATEMENT", fields: STATEMENT_FIELDS },
  slogans: { word: "DESK_FIELD_SLOGANS", add: "DESK_ADD_SLOGAN", fields: null },
  actions: { word: "DESK_FIELD_ACTIONS", add: "DESK_ADD_ACTION", fields: ACTION_FIELDS },
};

function showWriter() {
  const section = document.getElementById("writer");
  if (!me.campaigns.length) return;
  section.replaceChildren(
    element("h2", { text: say("DESK_WRITE") }),
    element("div", { class: "actions" },
      element("button", { type: "button", id: "write-open", text: say("DESK_WRITE_OPEN") }),
      element("button", { type: "button", id: "history-open", text: say("DESK_HISTORY") })),
    element("form", { id: "write-form", hidden: "", novalidate: "" }),
    element("div", { id: "history", hidden: "" }),
    element("p", { id: "write-status", role: "status" }), // the composer's is the alert
  );
  section.hidden = false;
  const chosen = () => document.getElementById("campaign").value || me.campaigns[0].id;
  document.getElementById("write-open").addEventListener("click", () => openWriting(chosen()));
  document.getElementById("history-open").addEventListener("click", showHistory);
}

function writeStatus(text) {
  document.getElementById("write-status").replaceChildren(...richText(text || ""));
}

// --- Fields. Each is an element with read() (its value, "" when empty) and relabel(prefix,
// path): its label and its key path (data-path, where a problem is shown) follow its place.

// One text in each language: a value that is a plain string is the main language's.
function byLanguage(value) {
  const found = {};
  if (typeof value === "string") found[writing.languages[0].code] = value;
  else if (value && typeof value === "object") Object.assign(found, value);
  return found;
}

// `single`: the main language only (a statement file holds no translations).
function texts(word, value, rows, single) {
  const box = element("fieldset", { class: "texts" }, element("legend"));
  const given = byLanguage(value);
  const mapped = Boolean(value) && typeof value === "object"; // stays a map when saved
  for (const language of single ? writing.languages.slice(0, 1) : writing.languages) {
    const input = element(rows ? "textarea" : "input", {
      "data-language": language.code, dir: language.rtl ? "rtl" : "ltr" });
    if (rows) input.setAttribute("rows", String(rows));
    input.value = given[language.code] || "";
    const label = element("label", { "data-shows": language.code },
      element("span", { text: language.name }), input);
    label.hidden = !writing.shown.has(language.code) && !input.value;
    box.append(label);
  }
  box.read = () => {
    const found = {};
    for (const input of box.querySelectorAll(":scope > label > [data-language]")) {
      const text = input.value.trim();
      if (text) found[input.dataset.language] = text;
    }
    const codes = Object.keys(found);
    if (!codes.length) return "";
    const alone = codes.length === 1 && codes[0] === writing.languages[0].code;
    return alone && !mapped ? found[codes[0]] : found;
  };
  box.relabel = (prefix, path) => {
    // A line of a list (a slogan, a closing line) is labelled by its number alone.
    const label = !word ? prefix : prefix ? `${prefix}: ${say(word)}` : say(word);
    box.querySelector("legend").textContent = label;
    box.dataset.path = path;
    for (const input of box.querySelectorAll(":scope > label > [data-language]")) {
      const language = writing.languages.find((l) => l.code === input.dataset.language);
      input.setAttribute("aria-label", `${label} (${language.name})`);
    }
  };
  return box;
}

function plainField(word, value) {
  const input = element("input", { dir: "ltr", autocomplete: "off" });
  input.value = value == null ? "" : String(value);
  const label = element("label", { class: "plain" }, element("span"), input);
  label.read = () => input.value.trim();
  label.relabel = (prefix, path) => {
    const text = prefix ? `${prefix}: ${say(word)}` : say(word);
    label.querySelector("span").textContent = text;
    input.setAttribute("aria-label", text);
    label.dataset.path = path;
  };
  return label;
}

// A picture: its path in the campaign folder (or an https link), or one chosen on the phone,
// kept in the folder's pictures/ by the bot under the rules a picture named in YAML has.
function pictureField(word, value) {
  const field = plainField(word, value);
  const input = field.querySelector("input");
  const chooser = element("input", { type: "file", accept: "image/jpeg,image/png,image/webp",
    class: "chooser" });
  const choose = element("button", { type: "button", text: say("DESK_CHOOSE_PICTURE") });
  choose.addEventListener("click", () => chooser.click());
  chooser.addEventListener("change", async () => {
    const file = chooser.files[0];
    if (!file) return;
    clearProblem(field);
    const body = new FormData();
    body.append("picture", file, file.name);
    chooser.value = ""; // the same file may be chosen again
    let found;
    try {
      found = await call(`campaigns/${encodeURIComponent(writing.campaign)}/pictures`, body);
    } catch (error) {
      showProblem(field, plain(error.message));
      return;
    }
    input.value = found.path;
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });
  field.append(chooser, choose);
  const relabel = field.relabel;
  field.relabel = (prefix, path) => {
    relabel(prefix, path);
    choose.setAttribute("aria-label", `${input.getAttribute("aria-label")}: ${say("DESK_CHOOSE_PICTURE")}`);
  };
  return field;
}

const ROWS = { texts: 0, long: 3, body: 12, plain: 0, picture: 0 };

function fieldOf(kind, word, value, single) {
  if (kind === "lines") return linesField(word, value, single);
  // A link or picture may differ by language too (a map of language -> text).
  const mapped = value && typeof value === "object";
  if (mapped || kind in { texts: 1, long: 1, body: 1 }) return texts(word, value, ROWS[kind], single);
  return kind === "picture" ? pictureField(word, value) : plainField(word, value);
}

// A list whose items are made by `make(value)`; each item can move and go; the list renumbers
// its items' labels and paths after each change.
// `newestFirst` (the statements): shown by date, newest first, a new one on top, and no
// moving (the bot orders them by date); they are saved in the file's order, new ones first.
function listOf(word, addWord, values, make, path, newestFirst) {
  const list = element("ol");
  const box = element("div", { class: "list" }, list);
  // The items in the order they are saved: the key paths the validator names.
  const saved = () => {
    const items = [...list.children];
    if (!newestFirst) return items;
    const fresh = items.filter((item) => item.origin === undefined);
    const kept = items.filter((item) => item.origin !== undefined);
    return [...fresh, ...kept.sort((a, b) => a.origin - b.origin)];
  };
  const renumber = () => {
    const order = saved();
    [...list.children].forEach((item, index) => {
      const number = index + 1;
      const prefix = box.within ? `${box.within}: ${say(word)} ${number}` : `${say(word)} ${number}`;
      item.saved = order.indexOf(item);
      item.relabel(prefix, `${box.path}.${item.saved}`);
      for (const [action, label] of item.controls) label.setAttribute("aria-label", `${say(action)}: ${prefix}`);
    });
  };
  const controls = newestFirst ? [["DESK_REMOVE", 0]]
    : [["DESK_MOVE_UP", -1], ["DESK_MOVE_DOWN", 1], ["DESK_REMOVE", 0]];
  const add = (value, origin) => {
    const item = make(value);
    item.origin = origin;
    item.controls = [];
    const buttons = element("div", { class: "actions item-controls" });
    for (const [action, move] of controls) {
      const button = element("button", { type: "button", class: move ? "move" : "remove",
        text: say(action) });
      button.addEventListener("click", () => {
        if (!move) item.remove();
        else if (move < 0 && item.previousElementSibling) item.previousElementSibling.before(item);
        else if (move > 0 && item.nextElementSibling) item.nextElementSibling.after(item);
        renumber();
        changed();
      });
      item.controls.push([action, button]);
      buttons.append(button);
    }
    item.append(buttons);
    if (newestFirst && origin === undefined) list.prepend(item);
    else list.append(item);
    return item;
  };
  const given = (values || []).map((value, origin) => [value, origin]);
  if (newestFirst) given.sort(([a], [b]) => String((b || {}).date || "").localeCompare(String((a || {}).date || "")));
  for (const [value, origin] of given) add(value, origin);
  const adder = element("button", { type: "button", text: say(addWord) });
  adder.addEventListener("click", () => {
    const item = add(undefined);
    renumber();
    item.querySelector("input, textarea").focus();
  });
  if (newestFirst) box.prepend(adder);
  else box.append(adder);
  box.path = path;
  // Blank items go too, so that the validator's key paths are the page's: a blank one is
  // named at its field ("must not be empty"), to fill or remove.
  box.read = () => saved().map((item) => item.read());
  box.relabel = (prefix, at) => {
    box.within = prefix;
    box.path = at;
    box.dataset.path = at; // a problem of the list as a whole ("at least 1") shows here
    renumber();
  };
  box.relabel("", path);
  return box;
}

// One line of a list: a slogan, a statement's closing line.
function lineOf(value, single) {
  const line = texts(null, value, 0, single);
  const item = element("li", { class: "line" }, line);
  item.read = line.read;
  item.relabel = line.relabel;
  return item;
}

function linesField(word, values, single) {
  return listOf(word, "DESK_ADD_LINE", values, (value) => lineOf(value, single), "");
}

function blank(value) {
  return value == null || value === "" || (Array.isArray(value) && !value.length);
}

// One item of a list of keys (a statement, an action): its fields, and the keys the desk does
// not change (attachments, say), kept as they were.
function itemOf(fields, value, kind, single) {
  const given = value || {};
  const item = element("li", { class: kind });
  const made = fields.map(([key, word, type]) => [key, fieldOf(type, word, given[key], single)]);
  for (const [, field] of made) item.append(field);
  item.read = () => {
    const found = { ...given };
    for (const [key, field] of made) {
      const read = field.read();
      if (!blank(read)) found[key] = read;
      else if (!(key in given) || !blank(given[key])) delete found[key]; // emptied: it goes
      // (a key the file has empty, `image:` say, stays as it is)
    }
    return found;
  };
  item.relabel = (prefix, path) => {
    for (const [key, field] of made) field.relabel(prefix, `${path}.${key}`);
  };
  return item;
}

// --- The form.

function languagesShown() {
  const box = element("fieldset", { class: "shown" }, element("legend", { text: say("DESK_LANGUAGES_SHOWN") }));
  for (const language of writing.languages) {
    const check = element("input", { type: "checkbox", value: language.code });
    check.checked = writing.shown.has(language.code);
    if (language === writing.languages[0]) check.disabled = true;
    check.addEventListener("change", () => {
      if (check.checked) writing.shown.add(language.code);
      else writing.shown.delete(language.code);
      for (const label of document.querySelectorAll(`#write-form [data-shows="${language.code}"]`)) {
        label.hidden = !check.checked && !label.querySelector("[data-language]").value;
      }
    });
    box.append(element("label", { class: "check" }, check, element("span", { text: language.name })));
  }
  return box;
}

async function openWriting(campaign) {
  writeStatus("");
  let found;
  try {
    found = await call(`campaigns/${encodeURIComponent(campaign)}/file`);
  } catch (error) {
    writeStatus(error.message);
    return;
  }
  const shown = writing && writing.campaign === campaign ? writing.shown
    : new Set(found.languages.filter((l) => l.written).map((l) => l.code));
  writing = { campaign, opened: found.opened, languages: found.languages, shown, parts: {},
    fields: found.fields };
  document.getElementById("history").hidden = true;
  const form = document.getElementById("write-form");
  form.replaceChildren(languagesShown());
  for (const [key, word, kind] of CAMPAIGN_FIELDS) {
    const field = fieldOf(kind, word, found.fields[key]);
    field.relabel("", key);
    writing.parts[key] = field;
    form.append(field);
  }
  for (const [key, list] of Object.entries(LISTS)) {
    const make = list.fields ? (v) => itemOf(list.fields, v, key.slice(0, -1)) : lineOf;
    const made = listOf(list.word, list.add, found.fields[key], make, key, key === "statements");
    made.querySelector("ol").id = `write-${key}`;
    writing.parts[key] = made;
    form.append(element("h3", { text: say(list.word) }), made);
    if (key === "statements") form.append(statementFiles(found.files));
  }
  form.append(previewPane(),
    element("div", { class: "actions" },
      element("button", { type: "submit", id: "write-save", text: say("DESK_SAVE") })));
  form.hidden = false;
  form.onsubmit = (event) => { event.preventDefault(); saveWriting(); };
  form.oninput = changed;
}

// The statements in files of their own (a draft added from the feed is one): each edited in
// place, named by its file (files.0.title is where its title's problem shows).
function statementFiles(files) {
  const list = element("ul", { id: "write-statement-files" });
  writing.files = files.map((file, index) => {
    const item = itemOf(STATEMENT_FIELDS, file.fields, "statement", true);
    const name = file.opened.file_name.split("/").pop();
    item.prepend(element("p", { class: "hint", dir: "ltr", text: file.opened.file_name }));
    item.relabel(name, `files.${index}`);
    list.prepend(item); // named by date: the newest first
    return { opened: file.opened, item, read: JSON.stringify(item.read()) };
  });
  return list;
}

function changes() {
  const found = {};
  for (const [key, part] of Object.entries(writing.parts)) {
    const value = part.read();
    const absent = writing.fields[key] == null;
    // An emptied summary goes; an empty list the file did not have is not added.
    found[key] = value === "" || (absent && Array.isArray(value) && !value.length) ? null : value;
  }
  return found;
}

// What a save or preview sends: the campaign file's changes, and those of each statement
// file changed (the others are left be); `sent` says which of the page's files each is.
function asked() {
  const sent = writing.files.map((file, index) => index)
    .filter((index) => JSON.stringify(writing.files[index].item.read()) !== writing.files[index].read);
  const files = sent.map((index) => ({ opened: writing.files[index].opened,
    changes: writing.files[index].item.read() }));
  return { body: { opened: writing.opened, changes: changes(), files }, sent };
}

// --- Problems, at their fields: the API names each by its key path (actions.7.title, and
// .ar for one language's text); the nearest field shown that holds it gets the sentence.

function clearProblem(field) {
  for (const note of field.querySelectorAll(":scope > .problem")) note.remove();
  for (const input of field.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

function showProblem(field, text, language) {
  const note = element("p", { class: "problem refusal", text });
  const inputs = [...field.querySelectorAll("input:not([type=file]), textarea")];
  const input = inputs.find((i) => i.dataset.language === language) || inputs[0];
  if (input) {
    input.setAttribute("aria-invalid", "true");
    const label = input.closest("label");
    if (label) label.hidden = false;
  }
  field.append(note);
}

function showProblems(problems, sent) {
  const form = document.getElementById("write-form");
  for (const field of form.querySelectorAll("[data-path]")) clearProblem(field);
  let first = null;
  for (const { field: path, message } of problems || []) {
    // files.N is the N-th statement file sent: the page's own number for it.
    const parts = path.replace(/^files\.(\d+)/, (all, n) => `files.${sent[Number(n)]}`).split(".");
    let language;
    if (writing.languages.some((l) => l.code === parts[parts.length - 1])) language = parts.pop();
    let field = null;
    while (parts.length && !field) {
      field = form.querySelector(`[data-path="${CSS.escape(parts.join("."))}"]`);
      if (!field) parts.pop();
    }
    if (!field) continue;
    showProblem(field, message, language);
    first = first || field;
  }
  if (first) first.scrollIntoView({ block: "center" });
}

// --- The preview: the message chosen, as the bot would send it now, split where it splits.

function previewPane() {
  const what = element("select", { id: "write-show", "aria-label": say("DESK_SHOW_AS") });
  const language = element("select", { id: "write-show-language",
    "aria-label": say("DESK_SHOW_LANGUAGE") });
  for (const l of writing.languages) language.append(element("option", { value: l.code, text: l.name }));
  const show = element("button", { type: "button", id: "write-preview-button", text: say("DESK_PREVIEW") });
  show.addEventListener("click", () => { writing.previewing = true; previewWriting(); });
  what.addEventListener("change", () => writing.previewing && previewWriting());
  language.addEventListener("change", () => writing.previewing && previewWriting());
  what.addEventListener("focus", () => fillShown(what)); // the statements as they are now
  fillShown(what);
  return element("fieldset", { class: "preview" }, element("legend", { text: say("DESK_SHOW_AS") }),
    what, language, show, element("div", { id: "write-preview" }));
}

function fillShown(what) {
  const chosen = what.value;
  const options = [["welcome", say("DESK_SHOW_WELCOME")]];
  // The campaign's statements are its file's (in the order saved), then its statement files'.
  const inline = [...document.querySelectorAll("#write-statements > li")];
  const statements = [...inline.map((item) => [item, item.saved]),
    ...writing.files.map((file, index) => [file.item, inline.length + index])];
  statements.forEach(([item, index], shown) => {
    const title = item.querySelector("[data-language]").value || `${shown + 1}`;
    options.push([`statement:${index}`, `${say("DESK_FIELD_STATEMENTS")} ${shown + 1}: ${title}`]);
  });
  options.push(["slogans", say("DESK_FIELD_SLOGANS")], ["actions", say("DESK_FIELD_ACTIONS")]);
  what.replaceChildren(...options.map(([value, text]) => element("option", { value, text })));
  if (options.some(([value]) => value === chosen)) what.value = chosen;
  else if (statements.length) what.value = `statement:${statements[0][1]}`; // the newest
}

let previewTimer = null;
let previews = 0; // preview calls made

// Each change re-draws the preview (once typing pauses) once it has been asked for.
function changed() {
  if (!writing || !writing.previewing) return;
  clearTimeout(previewTimer);
  previewTimer = setTimeout(previewWriting, 600);
}

async function previewWriting() {
  const [what, index] = document.getElementById("write-show").value.split(":");
  const show = { what, index: index === undefined ? null : Number(index),
    language: document.getElementById("write-show-language").value };
  const pane = document.getElementById("write-preview");
  const { body, sent } = asked();
  const number = ++previews; // an answer overtaken by a later one is not shown
  try {
    const found = await call(`campaigns/${encodeURIComponent(writing.campaign)}/preview`,
      { ...body, show });
    if (number !== previews) return;
    showProblems([]);
    pane.replaceChildren(...found.parts.map((part) => (typeof part === "string" ? rendered(part)
      : element("div", { class: "bubble", text: `[${part.type}: ${part.name}]` }))));
  } catch (error) {
    if (number !== previews) return;
    showProblems(error.refusal && error.refusal.problems, sent);
    pane.replaceChildren(element("p", { class: "refusal", text: plain(error.message) }));
  }
}

async function saveWriting() {
  writeStatus("");
  const { body, sent } = asked();
  try {
    const saved = await call(`campaigns/${encodeURIComponent(writing.campaign)}/file`, body);
    const previewing = writing.previewing;
    await openWriting(writing.campaign); // what is in the file now, to save against next
    writing.previewing = previewing;
    if (previewing) previewWriting();
    writeStatus(saved.message);
  } catch (error) {
    showProblems(error.refusal && error.refusal.problems, sent); // what was typed stays
    writeStatus(error.message);
  }
}

// --- The history: each published version, who and when, what it changed, and Restore.

function confirmed(question, then) {
  if (app && app.showConfirm) app.showConfirm(question, (ok) => { if (ok) then(); });
  else if (window.confirm(question)) then();
}

async function showHistory() {
  const box = document.getElementById("history");
  writeStatus("");
  let found;
  try {
    found = await call("versions");
  } catch (error) {
    writeStatus(error.message);
    return;
  }
  document.getElementById("write-form").hidden = true;
  const list = element("ul", { id: "versions-list" });
  for (const version of found.versions) {
    const when = new Date(version.published_at).toLocaleString(document.documentElement.lang);
    // Published by an organizer's save or /reload, or by the bot at start (the files as found).
    const line = say(version.published_by == null ? "DESK_HISTORY_LINE_START" : "DESK_HISTORY_LINE",
      { id: version.version_id, when, who: version.published_by, files: version.files });
    const diff = element("pre", { class: "diff", dir: "ltr" });
    const changes = element("details", {}, element("summary", { text: say("DESK_WHAT_CHANGED") }), diff);
    changes.addEventListener("toggle", async () => {
      if (!changes.open || diff.textContent) return;
      try {
        diff.textContent = (await call(`versions/${version.version_id}/changes`)).changes || "—";
      } catch (error) {
        diff.textContent = plain(error.message);
      }
    });
    const restore = element("button", { type: "button", text: say("DESK_RESTORE"),
      "aria-label": `${say("DESK_RESTORE")}: ${line}` });
    restore.addEventListener("click", () => confirmed(
      say("DESK_RESTORE_CONFIRM", { id: version.version_id }), async () => {
        try {
          const answer = await call(`versions/${version.version_id}/restore`, {});
          await showHistory();
          writeStatus(answer.message);
        } catch (error) {
          writeStatus(error.message);
        }
      }));
    list.append(element("li", { class: "version", "data-version": String(version.version_id) },
      element("span", { text: line }), changes, restore));
  }
  box.replaceChildren(element("h3", { text: say("DESK_HISTORY") }), list);
  box.hidden = false;
}

// desk.js says when it knows the organizer (me); it may have already.
if (me) showWriter();
else document.addEventListener("desk:ready", showWriter, { once: true });
