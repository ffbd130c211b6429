// The offline preview's stand-in for https://telegram.org/js/telegram-web-app.js, for a browser
// outside Telegram: what the organizers' desk uses of Telegram.WebApp. initData comes from the
// address's #tgWebAppData=..., as Telegram's apps pass it (the preview signs it for its own
// token); Telegram's own controls are drawn on the page: the MainButton along the bottom, the
// BackButton at the top; its popups are the browser's confirm and alert. The desk's
// Content-Security-Policy holds: styles are set through the DOM, never inline.
(function () {
  "use strict";
  const launch = {};
  for (const pair of location.hash.replace(/^#/, "").split("&")) {
    if (!pair) continue;
    const at = pair.indexOf("=");
    const name = at < 0 ? pair : pair.slice(0, at);
    const value = at < 0 ? "" : pair.slice(at + 1);
    launch[decodeURIComponent(name)] = decodeURIComponent(value.replace(/\+/g, "%20"));
  }
  const initData = launch.tgWebAppData || "";
  const version = launch.tgWebAppVersion || "6.0";

  const initDataUnsafe = {};
  for (const [name, value] of new URLSearchParams(initData)) {
    try {
      initDataUnsafe[name] = name === "user" ? JSON.parse(value) : value;
    } catch (error) {
      initDataUnsafe[name] = value;
    }
  }

  // Telegram's palettes, roughly; the desk's stylesheet reads them as --tg-theme-* variables.
  const LIGHT = {
    bg_color: "#ffffff", text_color: "#000000", hint_color: "#707579", link_color: "#3390ec",
    button_color: "#3390ec", button_text_color: "#ffffff", secondary_bg_color: "#f4f4f5",
    section_bg_color: "#f4f4f5", destructive_text_color: "#e53935",
  };
  const DARK = {
    bg_color: "#212121", text_color: "#ffffff", hint_color: "#aaaaaa", link_color: "#8774e1",
    button_color: "#8774e1", button_text_color: "#ffffff", secondary_bg_color: "#181818",
    section_bg_color: "#2c2c2c", destructive_text_color: "#ff595a",
  };
  const dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  const themeParams = launch.tgWebAppThemeParams
    ? JSON.parse(launch.tgWebAppThemeParams) : (dark ? DARK : LIGHT);
  for (const [key, color] of Object.entries(themeParams)) {
    document.documentElement.style.setProperty("--tg-theme-" + key.split("_").join("-"), color);
  }

  const handlers = {};
  function onEvent(type, callback) {
    (handlers[type] = handlers[type] || []).push(callback);
  }
  function offEvent(type, callback) {
    const list = handlers[type] || [];
    if (list.indexOf(callback) >= 0) list.splice(list.indexOf(callback), 1);
  }

  // One of Telegram's controls, drawn as a button of the page once the page has a body.
  function control(id, place, label) {
    const state = { text: "", isVisible: false, isActive: true, isProgressVisible: false };
    const clicked = [];
    let drawn = null;
    function draw() {
      if (!document.body) return;
      if (!drawn) {
        drawn = document.createElement("button");
        drawn.type = "button";
        drawn.id = id;
        if (label) drawn.setAttribute("aria-label", label);
        Object.assign(drawn.style, { position: "fixed", zIndex: "10", margin: "0" }, place);
        drawn.addEventListener("click", () => {
          if (state.isActive) clicked.slice().forEach((callback) => callback());
        });
        document.body.append(drawn);
      }
      drawn.hidden = !state.isVisible;
      drawn.disabled = !state.isActive;
      drawn.textContent = state.isProgressVisible ? state.text + " …" : state.text;
      return drawn;
    }
    const api = {
      setText(text) { state.text = String(text); draw(); return api; },
      show() { state.isVisible = true; draw(); return api; },
      hide() { state.isVisible = false; draw(); return api; },
      enable() { state.isActive = true; draw(); return api; },
      disable() { state.isActive = false; draw(); return api; },
      showProgress() { state.isProgressVisible = true; draw(); return api; },
      hideProgress() { state.isProgressVisible = false; draw(); return api; },
      onClick(callback) { clicked.push(callback); return api; },
      offClick(callback) {
        if (clicked.indexOf(callback) >= 0) clicked.splice(clicked.indexOf(callback), 1);
        return api;
      },
    };
    Object.defineProperty(api, "text", { get: () => state.text });
    Object.defineProperty(api, "isVisible", { get: () => state.isVisible });
    Object.defineProperty(api, "isActive", { get: () => state.isActive });
    return { api, draw };
  }

  const main = control("telegram-main-button",
    { left: "0", right: "0", bottom: "0", width: "100%", borderRadius: "0", minHeight: "3rem" });
  const mainShow = main.api.show, mainHide = main.api.hide;
  // Room under the page for the button, as Telegram's apps shrink the view above it.
  function room(height) {
    if (document.body) document.body.style.paddingBottom = height;
  }
  main.api.show = () => { mainShow(); room("3.5rem"); return main.api; };
  main.api.hide = () => { mainHide(); room(""); return main.api; };
  const back = control("telegram-back-button", { top: "0.5rem", insetInlineStart: "0.5rem" }, "Back");
  const backShow = back.api.show;
  back.api.show = () => {
    back.api.setText(document.documentElement.dir === "rtl" ? "→" : "←");
    return backShow();
  };

  function popup(params, callback) {
    const buttons = params.buttons && params.buttons.length ? params.buttons : [{ id: "", type: "close" }];
    const ok = buttons.find((b) => b.type !== "cancel" && b.type !== "close" && b.type !== "destructive")
      || buttons.find((b) => b.type === "destructive");
    const cancel = buttons.find((b) => b.type === "cancel" || b.type === "close");
    const message = [params.title, params.message].filter(Boolean).join("\n\n");
    let chosen;
    if (ok && cancel) chosen = window.confirm(message) ? ok.id : cancel.id;
    else {
      window.alert(message);
      chosen = buttons[0].id;
    }
    // Telegram answers a popup after it closes, never while the caller still runs.
    if (callback) setTimeout(() => callback(chosen), 0);
  }

  window.Telegram = {
    WebApp: {
      initData,
      initDataUnsafe,
      version,
      platform: launch.tgWebAppPlatform || "unknown",
      themeParams,
      colorScheme: themeParams === DARK ? "dark" : "light",
      isExpanded: true,
      ready() {},
      expand() {},
      close() { window.close(); },
      onEvent,
      offEvent,
      MainButton: main.api,
      BackButton: back.api,
      showPopup: popup,
      showAlert(message, callback) {
        popup({ message, buttons: [{ id: "close", type: "close" }] }, callback && (() => callback()));
      },
      showConfirm(message, callback) {
        popup({ message, buttons: [{ id: "ok", type: "ok" }, { id: "cancel", type: "cancel" }] },
          callback && ((id) => callback(id === "ok")));
      },
      openLink(url) { window.open(url, "_blank", "noopener"); },
      downloadFile(params, callback) {
        const link = document.createElement("a");
        link.href = params.url;
        link.download = params.file_name || "";
        document.body.append(link);
        link.click();
        link.remove();
        if (callback) setTimeout(() => callback(true), 0);
      },
      isVersionAtLeast(wanted) {
        const have = version.split(".").map(Number);
        const need = String(wanted).split(".").map(Number);
        for (let i = 0; i < Math.max(have.length, need.length); i += 1) {
          if ((have[i] || 0) !== (need[i] || 0)) return (have[i] || 0) > (need[i] || 0);
        }
        return true;
      },
    },
  };
})();
