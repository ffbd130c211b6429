// A stand-in for https://telegram.org/js/telegram-web-app.js in the browser tests (no network):
// what the desk uses of it, behaving as Telegram's script documents. Launch parameters come from
// location.hash (tgWebAppData, tgWebAppThemeParams, ...); events go out through
// window.TelegramWebviewProxy.postEvent(type, json), as in Telegram's mobile apps, and come in
// through Telegram.WebView.receiveEvent(type, data).
(function () {
  "use strict";
  const hash = location.hash.replace(/^#/, "");
  const launch = {};
  for (const pair of hash.split("&")) {
    if (!pair) continue;
    const [name, value] = pair.split("=");
    launch[decodeURIComponent(name)] = value === undefined ? null
      : decodeURIComponent(value.replace(/\+/g, "%20"));
  }
  const handlers = {};
  function postEvent(type, data) {
    if (window.TelegramWebviewProxy) {
      window.TelegramWebviewProxy.postEvent(type, JSON.stringify(data === undefined ? "" : data));
    }
  }
  function receiveEvent(type, data) {
    for (const handler of handlers[type] || []) handler(type, data);
  }
  function onEvent(type, handler) {
    (handlers[type] = handlers[type] || []).push(handler);
  }

  const themeParams = {};
  let colorScheme = "light";
  function setTheme(params) {
    for (const [key, color] of Object.entries(params)) {
      themeParams[key] = color;
      document.documentElement.style.setProperty("--tg-theme-" + key.split("_").join("-"), color);
      if (key === "bg_color") {
        const rgb = parseInt(color.slice(1), 16);
        const light = 0.299 * (rgb >> 16) + 0.587 * ((rgb >> 8) & 255) + 0.114 * (rgb & 255);
        colorScheme = light < 120 ? "dark" : "light";
        document.documentElement.style.setProperty("--tg-color-scheme", colorScheme);
      }
    }
  }
  if (launch.tgWebAppThemeParams) setTheme(JSON.parse(launch.tgWebAppThemeParams));

  function button(kind, setup) {
    const state = { text: "", isVisible: false, isActive: true, isProgressVisible: false };
    const clicked = [];
    onEvent(kind + "_button_pressed", () => clicked.forEach((callback) => callback()));
    const send = () => postEvent(setup, {
      is_visible: state.isVisible, is_active: state.isActive, text: state.text,
      is_progress_visible: state.isProgressVisible,
    });
    const api = {
      setText(text) { state.text = text; send(); return api; },
      show() { state.isVisible = true; send(); return api; },
      hide() { state.isVisible = false; send(); return api; },
      enable() { state.isActive = true; send(); return api; },
      disable() { state.isActive = false; send(); return api; },
      showProgress() { state.isProgressVisible = true; send(); return api; },
      hideProgress() { state.isProgressVisible = false; send(); return api; },
      onClick(callback) { clicked.push(callback); return api; },
      offClick(callback) { clicked.splice(clicked.indexOf(callback), 1); return api; },
    };
    Object.defineProperty(api, "text", { get: () => state.text });
    Object.defineProperty(api, "isVisible", { get: () => state.isVisible });
    return api;
  }
  const backClicked = [];
  onEvent("back_button_pressed", () => backClicked.forEach((callback) => callback()));
  let backVisible = false;
  const BackButton = {
    show() { backVisible = true; postEvent("web_app_setup_back_button", { is_visible: true }); return BackButton; },
    hide() { backVisible = false; postEvent("web_app_setup_back_button", { is_visible: false }); return BackButton; },
    onClick(callback) { backClicked.push(callback); return BackButton; },
  };
  Object.defineProperty(BackButton, "isVisible", { get: () => backVisible });

  let popupCallback = null;
  onEvent("popup_closed", (type, data) => {
    const callback = popupCallback;
    popupCallback = null;
    if (callback) callback(data && data.button_id);
  });

  window.Telegram = {
    WebView: { postEvent, receiveEvent, onEvent },
    WebApp: {
      initData: launch.tgWebAppData || "",
      version: launch.tgWebAppVersion || "6.0",
      platform: launch.tgWebAppPlatform || "unknown",
      themeParams,
      get colorScheme() { return colorScheme; },
      ready() { postEvent("web_app_ready"); },
      expand() { postEvent("web_app_expand"); },
      MainButton: button("main", "web_app_setup_main_button"),
      BackButton,
      showPopup(params, callback) { popupCallback = callback; postEvent("web_app_open_popup", params); },
      showConfirm(message, callback) {
        popupCallback = (id) => callback(id === "ok");
        postEvent("web_app_open_popup", { message, buttons: [{ id: "ok", type: "ok" }, { id: "cancel", type: "cancel" }] });
      },
      downloadFile(params) { postEvent("web_app_request_file_download", params); },
      isVersionAtLeast(wanted) {
        const have = (launch.tgWebAppVersion || "6.0").split(".").map(Number);
        const need = String(wanted).split(".").map(Number);
        for (let i = 0; i < Math.max(have.length, need.length); i += 1) {
          if ((have[i] || 0) !== (need[i] || 0)) return (have[i] || 0) > (need[i] || 0);
        }
        return true;
      },
      onEvent(type, callback) { onEvent(type, callback); },
    },
  };
})();
