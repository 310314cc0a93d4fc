// The dashboard: the sign-in page for a stranger, the terminal for a signed-in trader.
import "./style.css";
import { ApiError, api } from "./api";
import { h } from "./dom";
import { signInPage } from "./panels/signin";
import { store } from "./store";
import { terminalPage } from "./terminal";

async function start(root: HTMLElement): Promise<void> {
  try {
    store.user = await api.me();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      root.replaceChildren(signInPage());
      return;
    }
    throw error;
  }
  root.replaceChildren(await terminalPage());
}

const root = document.getElementById("app");
if (root) {
  start(root)
    .catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      root.replaceChildren(h("main", { class: "signin-page" }, h("section", { class: "signin-card" }, h("h1", {}, "The platform is not answering"), h("p", { class: "muted" }, message), h("button", { type: "button", class: "btn btn-primary", onclick: () => location.reload() }, "Try again"))));
    })
    .finally(() => {
      root.removeAttribute("aria-busy");
      document.body.dataset.ready = "true";
    });
}
