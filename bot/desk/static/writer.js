// The campaign's words, changed from the desk (issue 22): its slogans and actions, each text
// in every language the campaign is written in, side by side. Saved through the bot's API,
// which writes only what changed into the campaign's file and serves it everywhere.
// Uses say(), call() and element() from desk.js, loaded before it.
"use strict";

let writing = null; // {campaign, opened, languages}: the file as opened, to save against

function showWriter() {
  const section = document.getElementById("writer");
  if (!me.campaigns.length) return;
  section.replaceChildren(
    element("h2", { text: say("DESK_WRITE") }),
    element("button", { type: "button", id: "write-open", text: say("DESK_WRITE_OPEN") }),
    element("form", { id: "write-form", hidden: "" }),
    element("p", { id: "write-status", role: "status" }), // the composer's is the alert
  );
  section.hidden = false;
  document.getElementById("write-open").addEventListener("click", () => openWriting(
    document.getElementById("campaign").value || me.campaigns[0].id));
}

// One text in each language: a value that is a plain string is the main language's.
function byLanguage(value, languages) {
  const found = {};
  for (const { code } of languages) found[code] = "";
  if (typeof value === "string") found[languages[0].code] = value;
  else if (value) Object.assign(found, value);
  return found;
}

function textFields(label, value, multiline) {
  const box = element("fieldset", { class: "texts" }, element("legend", { text: label }));
  for (const language of writing.languages) {
    const input = element(multiline ? "textarea" : "input", {
      "data-language": language.code,
      dir: language.rtl ? "rtl" : "ltr",
      "aria-label": `${label} (${language.name})`,
    });
    if (multiline) input.setAttribute("rows", "3");
    input.value = byLanguage(value, writing.languages)[language.code] || "";
    box.append(element("label", {}, element("span", { text: language.name }), input));
  }
  return box;
}

// What a set of language fields holds: a string when only the main language is written.
function readTexts(box) {
  const found = {};
  for (const input of box.querySelectorAll("[data-language]")) {
    const text = input.value.trim();
    if (text) found[input.dataset.language] = text;
  }
  const codes = Object.keys(found);
  if (!codes.length) return "";
  if (codes.length === 1 && codes[0] === writing.languages[0].code) return found[codes[0]];
  return found;
}

function removable(item, label) {
  const remove = element("button", { type: "button", class: "remove",
    text: say("DESK_REMOVE"), "aria-label": `${say("DESK_REMOVE")}: ${label}` });
  remove.addEventListener("click", () => item.remove());
  item.append(remove);
  return item;
}

function sloganItem(value, number) {
  const label = `${say("DESK_FIELD_SLOGANS")} ${number}`;
  return removable(element("li", { class: "slogan" }, textFields(label, value, false)), label);
}

function actionItem(action, number) {
  const label = `${say("DESK_FIELD_ACTIONS")} ${number}`;
  const item = element("li", { class: "action" },
    textFields(`${label}: ${say("DESK_FIELD_TITLE")}`, action.title, false),
    textFields(`${label}: ${say("DESK_FIELD_DESCRIPTION")}`, action.description, true));
  item.dataset.rest = JSON.stringify(action); // its other keys (link, date, image) kept
  return removable(item, label);
}

function adder(text, list, make) {
  const button = element("button", { type: "button", text });
  button.addEventListener("click", () => {
    const item = make(list.children.length + 1);
    list.append(item);
    item.querySelector("input, textarea").focus();
  });
  return button;
}

async function openWriting(campaign) {
  const status = document.getElementById("write-status");
  status.textContent = "";
  let found;
  try {
    found = await call(`campaigns/${encodeURIComponent(campaign)}/file`);
  } catch (error) {
    status.textContent = plain(error.message);
    return;
  }
  writing = { campaign, opened: found.opened, languages: found.languages };
  const slogans = element("ol", { id: "write-slogans" });
  (found.fields.slogans || []).forEach((s, i) => slogans.append(sloganItem(s, i + 1)));
  const actions = element("ol", { id: "write-actions" });
  (found.fields.actions || []).forEach((a, i) => actions.append(actionItem(a, i + 1)));
  const form = document.getElementById("write-form");
  form.replaceChildren(
    element("h3", { text: say("DESK_FIELD_SLOGANS") }), slogans,
    adder(say("DESK_ADD_SLOGAN"), slogans, (n) => sloganItem("", n)),
    element("h3", { text: say("DESK_FIELD_ACTIONS") }), actions,
    adder(say("DESK_ADD_ACTION"), actions, (n) => actionItem({}, n)),
    element("div", { class: "actions" },
      element("button", { type: "submit", id: "write-save", text: say("DESK_SAVE") })),
  );
  form.hidden = false;
  form.onsubmit = (event) => { event.preventDefault(); saveWriting(); };
}

async function saveWriting() {
  const status = document.getElementById("write-status");
  const slogans = [...document.querySelectorAll("#write-slogans > li")]
    .map((item) => readTexts(item.querySelector("fieldset"))).filter((s) => s !== "");
  const actions = [...document.querySelectorAll("#write-actions > li")].map((item) => {
    const [title, description] = item.querySelectorAll("fieldset");
    const action = { ...JSON.parse(item.dataset.rest), title: readTexts(title) };
    const text = readTexts(description);
    if (text) action.description = text;
    else delete action.description;
    return action;
  });
  status.textContent = "";
  try {
    const saved = await call(`campaigns/${encodeURIComponent(writing.campaign)}/file`,
      { opened: writing.opened, changes: { slogans, actions } });
    status.textContent = plain(saved.message);
    await openWriting(writing.campaign); // what is in the file now, to save against next
    status.textContent = plain(saved.message);
  } catch (error) {
    status.textContent = plain(error.message); // what was typed stays in the form
  }
}

// desk.js says when it knows the organizer (me); it may have already.
if (me) showWriter();
else document.addEventListener("desk:ready", showWriter, { once: true });
